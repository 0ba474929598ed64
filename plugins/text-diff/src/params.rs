//! The operation's params: how many context lines, and the labels of the two
//! `---`/`+++` header lines.

use serde::de::Error as _;
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

/// The params of a diff: a JSON object whose missing fields take their
/// defaults; unknown fields are refused. (The SDK refuses params that are not
/// an object, and reads none as `{}`.)
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct Params {
    /// Unchanged lines shown around each change, at most [`MAX_CONTEXT`].
    #[serde(deserialize_with = "context")]
    pub context: usize,
    /// The name on the `---` line; no line breaks.
    #[serde(deserialize_with = "label")]
    pub left_label: String,
    /// The name on the `+++` line; no line breaks.
    #[serde(deserialize_with = "label")]
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
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(needle), "{text}: {error}");
        }
    }
}
