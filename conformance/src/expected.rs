//! The expected-failures file: known failures that do not fail a run.
//!
//! ```toml
//! [[expected]]
//! check = "events.heartbeat"
//! reason = "comments are not sent yet, tracked in #42"
//! ```
//!
//! Every entry needs a reason. A listed check that fails (or warns) is reported
//! as an expected failure; a listed check that passes fails the run, so that the
//! file never hides a fixed problem; an entry naming no check is a usage error.

use serde::Deserialize;

use crate::check::Check;
use crate::spec::Level;
use crate::verdict::{CheckResult, Expected, Verdict};

/// One entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The check's ID.
    pub check: String,
    /// Why its failure is expected.
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    expected: Vec<Entry>,
}

/// Parse the file's text and check every entry against the known checks.
pub fn parse(text: &str, checks: &[&'static Check]) -> Result<Vec<Entry>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    for entry in &file.expected {
        if !checks.iter().any(|c| c.id == entry.check) {
            return Err(format!("no check has the ID {:?}", entry.check));
        }
        if entry.reason.trim().is_empty() {
            return Err(format!("the entry for {} has no reason", entry.check));
        }
    }
    Ok(file.expected)
}

/// Mark the expected failures in `results`, and fail the listed checks that
/// passed.
pub fn apply(results: &mut [CheckResult], entries: &[Entry]) {
    for entry in entries {
        let Some(result) = results.iter_mut().find(|r| r.id == entry.check) else {
            continue;
        };
        match result.verdict {
            Verdict::Fail { .. } | Verdict::Warn { .. } => {
                result.expected_failure = Some(Expected {
                    reason: entry.reason.clone(),
                });
            }
            Verdict::Pass => {
                result.verdict = Verdict::Fail {
                    requirement: "expected-failures".into(),
                    level: Level::Must,
                    message: format!(
                        "the expected-failures file lists this check ({}), but it passed: remove the entry",
                        entry.reason
                    ),
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_need_a_known_check_and_a_reason() {
        let all = crate::checks::all();
        let ok = parse(
            "[[expected]]\ncheck = \"service.document\"\nreason = \"#1\"\n",
            &all,
        )
        .expect("valid");
        assert_eq!(ok.len(), 1);
        assert!(parse("[[expected]]\ncheck = \"nope\"\nreason = \"x\"\n", &all).is_err());
        assert!(
            parse(
                "[[expected]]\ncheck = \"service.document\"\nreason = \" \"\n",
                &all
            )
            .is_err()
        );
        assert!(parse("[[expected]]\ncheck = \"service.document\"\n", &all).is_err());
        assert!(
            parse(
                "[[expected]]\ncheck = \"service.document\"\nreason = \"x\"\nwhy = 1\n",
                &all
            )
            .is_err()
        );
        assert!(parse("", &all).expect("an empty file").is_empty());
    }

    #[test]
    fn a_listed_failure_is_expected_and_a_listed_pass_fails() {
        let check = crate::checks::all()[0];
        let entry = Entry {
            check: check.id.to_owned(),
            reason: "known".into(),
        };
        let failing = Verdict::Fail {
            requirement: "SVC-3".into(),
            level: Level::Must,
            message: String::new(),
        };
        let mut results = vec![CheckResult::without_run(check, failing)];
        apply(&mut results, std::slice::from_ref(&entry));
        assert_eq!(
            results[0].expected_failure.as_ref().unwrap().reason,
            "known"
        );

        let mut results = vec![CheckResult::without_run(check, Verdict::Pass)];
        apply(&mut results, &[entry]);
        assert!(results[0].expected_failure.is_none());
        assert!(
            matches!(&results[0].verdict, Verdict::Fail { message, .. } if message.contains("remove the entry"))
        );
    }
}
