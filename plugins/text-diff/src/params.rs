//! The operation's params: how many context lines, and the labels of the two
//! `---`/`+++` header lines.

use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Error as _, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The most context lines a hunk may have.
pub const MAX_CONTEXT: u64 = 10_000;

/// The JSON Schema (draft 2020-12) of the params object.
pub const PARAMS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "text-diff params",
  "type": "object",
  "properties": {
    "context": {
      "description": "Unchanged lines shown around each change (diff -U).",
      "type": "integer",
      "minimum": 0,
      "maximum": 10000,
      "default": 3
    },
    "leftLabel": {
      "description": "The name on the `---` line: the file the patch applies to.",
      "type": "string",
      "pattern": "^[^\\r\\n]*$",
      "default": "left"
    },
    "rightLabel": {
      "description": "The name on the `+++` line.",
      "type": "string",
      "pattern": "^[^\\r\\n]*$",
      "default": "right"
    }
  },
  "additionalProperties": false
}"#;

/// The params of a diff. They deserialize from a JSON object (or `null`, meaning
/// all defaults); anything else, and unknown fields, are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    /// Unchanged lines shown around each change, at most [`MAX_CONTEXT`].
    pub context: usize,
    /// The name on the `---` line; no line breaks.
    pub left_label: String,
    /// The name on the `+++` line; no line breaks.
    pub right_label: String,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            context: 3,
            left_label: "left".into(),
            right_label: "right".into(),
        }
    }
}

/// The fields of the params object, as serde derives them (a derived struct
/// would also accept a JSON array; [`Params`] only takes an object).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
struct Fields {
    #[serde(deserialize_with = "context")]
    context: usize,
    #[serde(deserialize_with = "label")]
    left_label: String,
    #[serde(deserialize_with = "label")]
    right_label: String,
}

impl Default for Fields {
    fn default() -> Self {
        let Params {
            context,
            left_label,
            right_label,
        } = Params::default();
        Self {
            context,
            left_label,
            right_label,
        }
    }
}

impl<'de> Deserialize<'de> for Params {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectVisitor)
    }
}

/// Takes a map (or `null`) and nothing else.
struct ObjectVisitor;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Params;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a params object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Params, A::Error> {
        let fields = Fields::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Params {
            context: fields.context,
            left_label: fields.left_label,
            right_label: fields.right_label,
        })
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Params, E> {
        Ok(Params::default())
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Params, E> {
        Ok(Params::default())
    }
}

fn context<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let value = i64::deserialize(deserializer)?;
    u64::try_from(value)
        .ok()
        .filter(|&context| context <= MAX_CONTEXT)
        .and_then(|context| usize::try_from(context).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "`context` must be an integer from 0 to {MAX_CONTEXT}, got {value}"
            ))
        })
}

fn label<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if value.contains(['\n', '\r']) {
        return Err(D::Error::custom(format!(
            "a label must be one line, without `\\n` or `\\r`; got {value:?}"
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Params, String> {
        serde_json::from_str(text).map_err(|error| error.to_string())
    }

    #[test]
    fn schema_is_json_and_closed() {
        let schema: serde_json::Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["context"]["maximum"], MAX_CONTEXT);
        assert_eq!(schema["properties"]["context"]["default"], 3);
    }

    #[test]
    fn defaults_fill_missing_fields() {
        assert_eq!(parse("{}").unwrap(), Params::default());
        assert_eq!(parse("null").unwrap(), Params::default());
        let params = parse(r#"{"context": 0, "rightLabel": "b/x.txt"}"#).unwrap();
        assert_eq!(params.context, 0);
        assert_eq!(params.left_label, "left");
        assert_eq!(params.right_label, "b/x.txt");
        assert_eq!(parse(r#"{"context": 10000}"#).unwrap().context, 10_000);
    }

    #[test]
    fn bad_params_say_what_was_expected() {
        for (text, needle) in [
            (r#"{"context": 10001}"#, "from 0 to 10000, got 10001"),
            (r#"{"context": -1}"#, "got -1"),
            (r#"{"context": "3"}"#, "expected i64"),
            (r#"{"leftLabel": "a\nb"}"#, "one line"),
            (r#"{"rightLabel": "a\r"}"#, "one line"),
            (r#"{"other": 1}"#, "unknown field `other`"),
            ("[]", "expected a params object"),
            ("[3]", "expected a params object"),
            ("true", "expected a params object"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
