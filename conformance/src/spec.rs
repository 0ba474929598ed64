//! The requirements of `spec/protocol.md`, read from the text itself.
//!
//! The suite embeds the protocol document it was built with and parses every
//! requirement bullet (`- **[ID]** text (class: name)`) out of it, so a check can
//! only cite an ID that exists, reports quote the requirement's exact text, and
//! `longrun-conformance list` shows the whole matrix. The level of a requirement
//! is the strongest BCP 14 key word in its text: MUST (also MUST NOT, REQUIRED,
//! SHALL), else SHOULD (also RECOMMENDED), else MAY.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Serialize;

/// The protocol document this suite checks against.
pub const PROTOCOL_MD: &str = include_str!("../../spec/protocol.md");

/// How binding a requirement is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Breaking it is a conformance failure.
    Must,
    /// Breaking it is a warning (a failure with `--strict`).
    Should,
    /// Optional behaviour; it cannot be broken.
    May,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        })
    }
}

/// One requirement bullet of the protocol.
#[derive(Debug, Clone, Serialize)]
pub struct Requirement {
    /// The stable ID, for example `JOB-CREATE-2`.
    pub id: String,
    /// The strongest key word of the text.
    pub level: Level,
    /// The conformance class it belongs to, for example `core`.
    pub class: String,
    /// The section it appears in, for example `6.1 The JSON request`.
    pub section: String,
    /// The requirement's text, without the ID and the class note.
    pub text: String,
}

/// The parsed protocol document.
#[derive(Debug)]
pub struct Spec {
    /// The protocol version in the header, for example `1.0`.
    pub version: String,
    /// Every requirement, in document order.
    pub requirements: Vec<Requirement>,
    /// The conformance class names of section 2, in table order.
    pub classes: Vec<String>,
    by_id: BTreeMap<String, usize>,
}

impl Spec {
    /// Parse a protocol document.
    pub fn parse(text: &str) -> Spec {
        let mut version = String::new();
        let mut section = String::new();
        let mut requirements = Vec::new();
        let mut classes = Vec::new();
        let mut in_class_table = false;
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("Protocol version:") {
                version = v.trim().to_owned();
            } else if let Some(title) = line
                .strip_prefix("### ")
                .or_else(|| line.strip_prefix("## "))
            {
                section = title.trim().to_owned();
                in_class_table = section.ends_with("Conformance classes");
            } else if in_class_table && line.starts_with("| `") {
                if let Some(name) = line[3..].split('`').next() {
                    classes.push(name.to_owned());
                }
            } else if let Some(rest) = line.strip_prefix("- **[") {
                let Some((id, rest)) = rest.split_once("]**") else {
                    continue;
                };
                let rest = rest.trim();
                let (text, class) = match rest.rfind("(class: ") {
                    Some(at) => (
                        rest[..at].trim(),
                        rest[at + 8..].trim_end_matches(')').trim(),
                    ),
                    None => (rest, ""),
                };
                requirements.push(Requirement {
                    id: id.to_owned(),
                    level: level_of(text),
                    class: class.to_owned(),
                    section: section.clone(),
                    text: text.to_owned(),
                });
            }
        }
        let by_id = requirements
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        Spec {
            version,
            requirements,
            classes,
            by_id,
        }
    }

    /// The requirement with this ID.
    pub fn get(&self, id: &str) -> Option<&Requirement> {
        self.by_id.get(id).map(|&i| &self.requirements[i])
    }
}

/// The strongest BCP 14 key word in `text`.
fn level_of(text: &str) -> Level {
    let words: Vec<&str> = text
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .collect();
    let has = |kw: &[&str]| words.iter().any(|w| kw.contains(w));
    if has(&["MUST", "REQUIRED", "SHALL"]) {
        Level::Must
    } else if has(&["SHOULD", "RECOMMENDED"]) {
        Level::Should
    } else {
        Level::May
    }
}

/// The protocol document the suite was built with.
pub fn spec() -> &'static Spec {
    static SPEC: LazyLock<Spec> = LazyLock::new(|| Spec::parse(PROTOCOL_MD));
    &SPEC
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_requirement_with_its_level_and_class() {
        let spec = spec();
        assert_eq!(spec.version, "1.0");
        assert!(spec.requirements.len() > 150, "{}", spec.requirements.len());
        let r = spec.get("JOB-CREATE-2").expect("JOB-CREATE-2");
        assert_eq!(r.level, Level::Must);
        assert_eq!(r.class, "core");
        assert!(r.section.starts_with("6.1"), "{}", r.section);
        assert!(r.text.starts_with("The `202` answer MUST carry `Location`"));
        assert_eq!(spec.get("EVENTS-7").unwrap().level, Level::Should);
        assert_eq!(spec.get("EVENTS-8").unwrap().level, Level::May);
        assert!(spec.get("NOPE-1").is_none());
        for r in &spec.requirements {
            assert!(
                spec.classes.contains(&r.class),
                "{} has class {:?}",
                r.id,
                r.class
            );
        }
        assert!(spec.classes.contains(&"callbacks".to_owned()));
    }
}
