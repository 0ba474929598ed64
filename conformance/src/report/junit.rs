//! The JUnit XML report, as CI systems read it: one test suite per conformance
//! class, one test case per check. `fail` is a failure, `error` an error, `skip`
//! and `blocked` are skipped; `warn` is a failure only with `--strict` (else it
//! passes with the warning in its system-out).

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunReport;
use crate::verdict::Verdict;

/// Render the report as JUnit XML.
pub fn render(report: &RunReport) -> String {
    let mut junit = Report::new("longrun-conformance");
    let mut classes: Vec<&str> = report.results.iter().map(|r| r.class).collect();
    classes.dedup();
    let mut seen = std::collections::BTreeSet::new();
    classes.retain(|c| seen.insert(*c));
    for class in classes {
        let mut suite = TestSuite::new(class);
        for result in report.results.iter().filter(|r| r.class == class) {
            let status = match (&result.verdict, &result.expected_failure) {
                (_, Some(_)) | (Verdict::Pass, None) => TestCaseStatus::success(),
                (Verdict::Warn { .. }, None) if !report.strict => TestCaseStatus::success(),
                (
                    Verdict::Fail {
                        requirement,
                        message,
                        ..
                    },
                    None,
                )
                | (
                    Verdict::Warn {
                        requirement,
                        message,
                        ..
                    },
                    None,
                ) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    status.set_message(format!("[{requirement}] {message}"));
                    status.set_type(requirement.as_str());
                    let mut description = String::new();
                    if let Some(req) = crate::spec::spec().get(requirement) {
                        description
                            .push_str(&format!("{} ({}): {}\n", req.id, req.level, req.text));
                    }
                    if let Some(exchange) = result.last_exchange() {
                        description.push_str(&format!("repeat: {}\n", exchange.curl()));
                    }
                    status.set_description(description);
                    status
                }
                (Verdict::Error { message }, None) => {
                    let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
                    status.set_message(message.as_str());
                    status
                }
                (Verdict::Skip { reason }, None) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(reason.as_str());
                    status
                }
                (Verdict::Blocked { by }, None) => {
                    let mut status = TestCaseStatus::skipped();
                    status.set_message(format!("blocked: needs {by}, which did not pass"));
                    status
                }
            };
            let mut case = TestCase::new(result.id, status);
            case.set_classname(format!("longrun.{class}"));
            case.set_time(std::time::Duration::from_millis(result.duration_ms));
            let mut out = format!(
                "{}\nrequirements: {}\n",
                result.title,
                result.requirements.join(", ")
            );
            if let Some(expected) = &result.expected_failure {
                out.push_str(&format!("expected failure: {}\n", expected.reason));
            }
            if let Verdict::Warn {
                requirement,
                message,
                ..
            } = &result.verdict
            {
                out.push_str(&format!("warning [{requirement}]: {message}\n"));
            }
            case.set_system_out(out);
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("JUnit XML renders")
}
