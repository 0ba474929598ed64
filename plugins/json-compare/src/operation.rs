//! The `json-compare` operation as the runner sees it, independent of the
//! component bindings: its description, its params, and `run` over plain bytes.
//!
//! Progress is reported as one overall percentage that never goes down: `parse`
//! covers 0–10 %, `compare` 10–90 % (counted in nodes, about once per percent)
//! and `render` 90–100 %.

use serde::Deserialize;
use serde_json::Value;

use crate::compare::{Cancelled, Options, try_compare};

/// The operation name.
pub const NAME: &str = "json-compare";
/// A short title for people.
pub const TITLE: &str = "Compare two JSON documents";
/// A longer description for people.
pub const DESCRIPTION: &str = "Structural diff of the JSON documents `left` and `right`. The \
result is {\"equal\": bool, \"patch\": [...], \"summary\": {\"added\", \"removed\", \"replaced\"}}, \
where `patch` is an RFC 6902 JSON Patch that turns `left` into `right` when its operations are \
applied in order. Objects are compared key by key (in sorted key order); arrays as sequences \
(a Myers diff of their elements), or, with `ignoreArrayOrder`, as multisets: surplus elements are \
removed and missing ones appended, so the patched document equals `right` modulo array order.";
/// The stages, in order.
pub const STAGES: [&str; 3] = ["parse", "compare", "render"];
/// The media type of the result.
pub const RESULT_MEDIA_TYPE: &str = "application/json";
/// The media types accepted for both inputs.
pub const INPUT_MEDIA_TYPES: [&str; 1] = ["application/json"];
/// The JSON Schema (draft 2020-12) of the params object.
pub const PARAMS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "json-compare params",
  "type": "object",
  "properties": {
    "ignoreArrayOrder": {
      "description": "Compare arrays as multisets, at every depth: element order does not matter.",
      "type": "boolean",
      "default": false
    }
  },
  "additionalProperties": false
}"#;

/// One declared input: `(name, description)`; both are required JSON documents.
pub const INPUTS: [(&str, &str); 2] = [
    ("left", "The original document: the patch applies to it."),
    (
        "right",
        "The changed document: applying the patch to `left` gives it.",
    ),
];

/// Why a run failed: a machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A short token such as `invalid-params`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    fn canceled() -> Self {
        Self::new("canceled", "the job was canceled")
    }
}

/// One input as the runner resolved it.
#[derive(Debug, Clone, Copy)]
pub struct InputRef<'a> {
    /// The input's name.
    pub name: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its bytes.
    pub data: &'a [u8],
}

/// A progress report to pass to the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The overall percentage, 0 to 100, never going down within a run.
    pub percent: f64,
    /// The current stage, one of [`STAGES`].
    pub stage: &'static str,
    /// A short message for people.
    pub message: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Params {
    #[serde(default)]
    ignore_array_order: bool,
}

/// Parses the params JSON text. Empty text and `null` mean no params.
///
/// # Errors
///
/// `invalid-params` when the text is not a params object of the schema's shape.
pub fn parse_params(text: &str) -> Result<Options, Failure> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok(Options::default());
    }
    let invalid = |error: serde_json::Error| {
        Failure::new("invalid-params", format!("invalid params: {error}"))
    };
    let value: Value = serde_json::from_str(text).map_err(invalid)?;
    if !value.is_object() {
        return Err(Failure::new(
            "invalid-params",
            "invalid params: expected a JSON object",
        ));
    }
    let params: Params = serde_json::from_value(value).map_err(invalid)?;
    Ok(Options {
        ignore_array_order: params.ignore_array_order,
    })
}

/// Runs the operation: parses both inputs, compares them and renders the result
/// JSON. `progress` returns whether to go on; once it returns `false` the run
/// stops with the error code `canceled`.
///
/// # Errors
///
/// `invalid-params`, `invalid-input` (an input missing or not JSON) or `canceled`.
pub fn run(
    params: &str,
    inputs: &[InputRef<'_>],
    progress: &mut dyn FnMut(Update) -> bool,
) -> Result<Vec<u8>, Failure> {
    let options = parse_params(params)?;
    let mut report = |percent: f64, stage: &'static str, message: String| {
        if progress(Update {
            percent,
            stage,
            message,
        }) {
            Ok(())
        } else {
            Err(Failure::canceled())
        }
    };

    report(0.0, "parse", "parsing `left`".into())?;
    let left = parse_input(inputs, "left")?;
    report(5.0, "parse", "parsing `right`".into())?;
    let right = parse_input(inputs, "right")?;

    report(10.0, "compare", "comparing".into())?;
    let mut cancel = None;
    let comparison = try_compare(&left, &right, &options, &mut |step| {
        let outcome = report(
            10.0 + 0.8 * step.percent(),
            "compare",
            format!("compared {} of {} values", step.done, step.total),
        );
        match outcome {
            Ok(()) => true,
            Err(failure) => {
                cancel = Some(failure);
                false
            }
        }
    })
    .map_err(|Cancelled| cancel.take().unwrap_or_else(Failure::canceled))?;
    drop((left, right));

    report(
        90.0,
        "render",
        format!("rendering {} operations", comparison.patch.len()),
    )?;
    serde_json::to_vec(&comparison)
        .map_err(|error| Failure::new("internal", format!("cannot render the result: {error}")))
}

fn parse_input(inputs: &[InputRef<'_>], name: &str) -> Result<Value, Failure> {
    let input = inputs
        .iter()
        .find(|input| input.name == name)
        .ok_or_else(|| Failure::new("invalid-input", format!("the input `{name}` is required")))?;
    serde_json::from_slice(input.data).map_err(|error| {
        Failure::new(
            "invalid-input",
            format!("the input `{name}` is not valid JSON: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs<'a>(left: &'a str, right: &'a str) -> [InputRef<'a>; 2] {
        [
            InputRef {
                name: "left",
                media_type: "application/json",
                data: left.as_bytes(),
            },
            InputRef {
                name: "right",
                media_type: "application/json",
                data: right.as_bytes(),
            },
        ]
    }

    #[test]
    fn schema_is_json() {
        let schema: Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn params_are_parsed_defensively() {
        assert_eq!(parse_params("").unwrap(), Options::default());
        assert_eq!(parse_params("null").unwrap(), Options::default());
        assert_eq!(parse_params("{}").unwrap(), Options::default());
        assert!(
            parse_params(r#"{"ignoreArrayOrder": true}"#)
                .unwrap()
                .ignore_array_order
        );
        for bad in [
            r#"{"ignoreArrayOrder": 1}"#,
            r#"{"other": true}"#,
            "[",
            "[]",
        ] {
            assert_eq!(
                parse_params(bad).unwrap_err().code,
                "invalid-params",
                "{bad}"
            );
        }
    }

    #[test]
    fn run_renders_the_result_and_monotonic_progress() {
        let mut seen = Vec::new();
        let out = run(
            r#"{"ignoreArrayOrder": false}"#,
            &inputs(r#"{"a": [1, 2, 3]}"#, r#"{"a": [1, 3], "b": null}"#),
            &mut |update| {
                seen.push(update);
                true
            },
        )
        .unwrap();
        let out: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            out,
            serde_json::json!({
                "equal": false,
                "patch": [
                    {"op": "remove", "path": "/a/1"},
                    {"op": "add", "path": "/b", "value": null}
                ],
                "summary": {"added": 1, "removed": 1, "replaced": 0}
            })
        );
        assert!(
            seen.windows(2)
                .all(|pair| pair[0].percent <= pair[1].percent)
        );
        let mut stages: Vec<_> = seen.iter().map(|update| update.stage).collect();
        stages.dedup();
        assert_eq!(stages, STAGES);
    }

    #[test]
    fn bad_and_missing_inputs_are_invalid_input() {
        let failure = run("{}", &inputs("{", "{}"), &mut |_| true).unwrap_err();
        assert_eq!(failure.code, "invalid-input");
        assert!(failure.message.contains("`left`"), "{}", failure.message);
        let failure = run("{}", &inputs("{}", "")[..1], &mut |_| true).unwrap_err();
        assert_eq!(failure.code, "invalid-input");
        assert!(failure.message.contains("`right`"), "{}", failure.message);
    }

    #[test]
    fn cancel_during_compare_stops_the_run() {
        let left: Value = (0..10_000).collect::<Vec<u32>>().into();
        let right: Value = (0..10_000).rev().collect::<Vec<u32>>().into();
        let (left, right) = (left.to_string(), right.to_string());
        let mut calls = 0;
        let failure = run("{}", &inputs(&left, &right), &mut |update| {
            calls += 1;
            update.stage != "compare" || update.percent < 20.0
        })
        .unwrap_err();
        assert_eq!(failure.code, "canceled");
        assert!(calls < 50, "{calls} progress calls");
    }
}
