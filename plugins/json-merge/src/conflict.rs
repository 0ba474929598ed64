//! Conflicts, and how they are shown in the result.
//!
//! A conflict is one location (an RFC 6901 JSON Pointer into the documents)
//! where versions changed the ancestor in ways that cannot be combined. Every
//! side of it, the ancestor's and each version's, is either a value or the
//! absence of the member there, and the two are never confused: JSON `null` is
//! a value.
//!
//! ```json
//! {
//!   "pointer": "/settings/mode",
//!   "ancestor": {"value": "fast"},
//!   "versions": [
//!     {"version": 1, "changed": true, "value": null},
//!     {"version": 2, "changed": true, "absent": true},
//!     {"version": 3, "changed": false, "value": "fast"}
//!   ]
//! }
//! ```
//!
//! `{"absent": true}` on a version whose ancestor side has a value means the
//! version deleted the member; on the ancestor side it means the member did not
//! exist there (the versions that have it added it).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// What one document has at a location.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// A value, `null` included.
    Value(Value),
    /// No member there: never in the ancestor, or deleted by the version.
    Absent,
}

impl Side {
    /// The side for what a document has at a location: `None` is absent.
    #[must_use]
    pub fn of(value: Option<&Value>) -> Self {
        value.map_or(Self::Absent, |value| Self::Value(value.clone()))
    }

    /// The value, or `None` when absent.
    #[must_use]
    pub fn value(&self) -> Option<&Value> {
        match self {
            Self::Value(value) => Some(value),
            Self::Absent => None,
        }
    }

    /// Writes this side's entry (`value` or `absent`) into a map.
    fn serialize_entry<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match self {
            Self::Value(value) => map.serialize_entry("value", value),
            Self::Absent => map.serialize_entry("absent", &true),
        }
    }
}

impl Serialize for Side {
    /// `{"value": <value>}` or `{"absent": true}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        self.serialize_entry(&mut map)?;
        map.end()
    }
}

/// What one version has at a conflict's location.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionSide {
    /// The version's number, as in its input name `version-N`.
    pub version: u32,
    /// Whether it differs from the ancestor there.
    pub changed: bool,
    /// Its value there, or absence.
    pub side: Side,
}

impl Serialize for VersionSide {
    /// `{"version": n, "changed": bool, "value": <value>}`, or with
    /// `"absent": true` in place of `value`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("version", &self.version)?;
        map.serialize_entry("changed", &self.changed)?;
        self.side.serialize_entry(&mut map)?;
        map.end()
    }
}

/// One location the versions changed in ways that cannot be combined.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    /// Where, as an RFC 6901 JSON Pointer (`""` is the root).
    pub pointer: String,
    /// What the ancestor has there.
    pub ancestor: Side,
    /// What every version has there, in merge order.
    pub versions: Vec<VersionSide>,
}

/// One line for people listing where `conflicts` are: their pointers, quoted
/// as JSON strings (so the root shows as `""`), at most `listed` of them, then
/// how many more there are.
#[must_use]
pub fn summary(conflicts: &[Conflict], listed: usize) -> String {
    let count = conflicts.len();
    let pointers: Vec<String> = conflicts
        .iter()
        .take(listed)
        .map(|conflict| Value::String(conflict.pointer.clone()).to_string())
        .collect();
    let noun = if count == 1 { "location" } else { "locations" };
    let mut line = format!(
        "the versions conflict at {count} {noun}: {}",
        pointers.join(", ")
    );
    if count > listed {
        line.push_str(&format!(", and {} more", count - listed));
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn null_and_absence_are_told_apart() {
        let conflict = Conflict {
            pointer: "/a~1b".to_owned(),
            ancestor: Side::Absent,
            versions: vec![
                VersionSide {
                    version: 1,
                    changed: true,
                    side: Side::Value(Value::Null),
                },
                VersionSide {
                    version: 3,
                    changed: false,
                    side: Side::Absent,
                },
            ],
        };
        assert_eq!(
            serde_json::to_value(&conflict).unwrap(),
            json!({
                "pointer": "/a~1b",
                "ancestor": {"absent": true},
                "versions": [
                    {"version": 1, "changed": true, "value": null},
                    {"version": 3, "changed": false, "absent": true}
                ]
            })
        );
    }

    fn at(pointer: &str) -> Conflict {
        Conflict {
            pointer: pointer.to_owned(),
            ancestor: Side::Absent,
            versions: Vec::new(),
        }
    }

    #[test]
    fn summaries_quote_pointers_and_count_the_rest() {
        assert_eq!(
            summary(&[at("")], 20),
            r#"the versions conflict at 1 location: """#
        );
        assert_eq!(
            summary(&[at("/a"), at("/b\"c")], 20),
            r#"the versions conflict at 2 locations: "/a", "/b\"c""#
        );
        let many: Vec<Conflict> = (0..25).map(|index| at(&format!("/{index}"))).collect();
        let line = summary(&many, 20);
        assert!(
            line.starts_with(r#"the versions conflict at 25 locations: "/0", "/1""#),
            "{line}"
        );
        assert!(line.ends_with(r#""/18", "/19", and 5 more"#), "{line}");
    }

    #[test]
    fn sides_come_from_options() {
        assert_eq!(Side::of(None), Side::Absent);
        assert_eq!(Side::of(Some(&Value::Null)), Side::Value(Value::Null));
        assert_eq!(Side::Value(json!(1)).value(), Some(&json!(1)));
        assert_eq!(Side::Absent.value(), None);
    }
}
