//! The `json-compare` operation: its description, its params, and its run
//! through the guest SDK ([`longrun_plugin`]).
//!
//! The inputs are parsed straight from the runner in 1 MiB pieces
//! ([`longrun_plugin::Input::reader`]) and the result is written in pieces,
//! so neither the input text nor the result text is held whole: only the
//! two parsed documents and the patch are.
//!
//! Progress by stage (weights): `parse` 10 (bytes read of both inputs),
//! `compare` 80 (values compared) and `render` 10.

use std::io;

use longrun_plugin::{Description, Error, Input, InputSpec, Inputs, Operation, Run};
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
/// The stages, in order, with their weights.
pub const STAGES: [(&str, u32); 3] = [("parse", 10), ("compare", 80), ("render", 10)];
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

/// The params object.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// Compare arrays as multisets.
    #[serde(default)]
    pub ignore_array_order: bool,
}

/// The `json-compare` operation.
pub struct JsonCompare;

impl Operation for JsonCompare {
    type Params = Params;

    fn describe() -> Description {
        let mut description = Description::new(NAME, env!("CARGO_PKG_VERSION"))
            .title(TITLE)
            .description(DESCRIPTION)
            .params_schema(PARAMS_SCHEMA)
            .result_media_type(RESULT_MEDIA_TYPE);
        for (stage, weight) in STAGES {
            description = description.stage(stage, weight);
        }
        for (name, about) in INPUTS {
            description = description.input(
                InputSpec::new(name)
                    .description(about)
                    .media_types(INPUT_MEDIA_TYPES)
                    .required(),
            );
        }
        description
    }

    fn run(params: Params, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
        let options = Options {
            ignore_array_order: params.ignore_array_order,
        };
        let left = inputs.require("left")?;
        let right = inputs.require("right")?;
        let total = left.size() + right.size();

        run.stage("parse")?;
        let left_value = parse(left, 0, total, run)?;
        let right_value = parse(right, left.size(), total, run)?;

        run.stage("compare")?;
        let mut stopped = None;
        let comparison = try_compare(&left_value, &right_value, &options, &mut |step| match run
            .advance(step.done, step.total)
        {
            Ok(()) => true,
            Err(error) => {
                stopped = Some(error);
                false
            }
        })
        .map_err(|Cancelled| stopped.take().unwrap_or_else(Error::canceled))?;
        drop((left_value, right_value));

        run.stage("render")?;
        serde_json::to_writer(run.output(), &comparison)
            .map_err(|e| Error::from(io::Error::from(e)))?;
        run.advance(1, 1)
    }
}

/// Parses `input` as JSON, reporting the bytes read (counted from `before`,
/// out of `total` for both inputs).
fn parse(input: &Input, before: u64, total: u64, run: &mut Run) -> Result<Value, Error> {
    serde_json::from_reader(input.reader_with_progress(run, before, total)).map_err(|error| {
        if error.is_io() {
            Error::from(io::Error::from(error))
        } else {
            Error::invalid_input(format!(
                "the input `{}` is not valid JSON: {error}",
                input.name()
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use longrun_plugin::testing::Harness;

    use super::*;

    fn run(params: &str, left: &str, right: &str) -> longrun_plugin::testing::TestRun {
        Harness::new(params)
            .input("left", "application/json", left.as_bytes().to_vec())
            .input("right", "application/json", right.as_bytes().to_vec())
            .run::<JsonCompare>()
    }

    #[test]
    fn schema_is_json() {
        let schema: Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn params_of_the_wrong_shape_are_invalid_params() {
        for bad in [
            r#"{"ignoreArrayOrder": 1}"#,
            r#"{"other": true}"#,
            "[",
            "[]",
            "3",
        ] {
            let done = run(bad, "{}", "{}");
            assert_eq!(done.result.unwrap_err().code(), "invalid-params", "{bad}");
        }
        for good in ["null", "{}", r#"{"ignoreArrayOrder": true}"#] {
            assert!(run(good, "{}", "{}").result.is_ok(), "{good}");
        }
    }

    #[test]
    fn run_renders_the_result_and_monotonic_progress() {
        let done = run(
            r#"{"ignoreArrayOrder": false}"#,
            r#"{"a": [1, 2, 3]}"#,
            r#"{"a": [1, 3], "b": null}"#,
        );
        assert_eq!(done.stages(), ["parse", "compare", "render"]);
        let percents = done.percents();
        assert!(
            percents.windows(2).all(|pair| pair[0] <= pair[1]),
            "{percents:?}"
        );
        assert_eq!(percents.last(), Some(&100.0));
        let out: Value = serde_json::from_slice(&done.result.unwrap()).unwrap();
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
    }

    #[test]
    fn inputs_are_read_in_pieces() {
        let left: Value = (0..300_000).collect::<Vec<u32>>().into();
        let right: Value = (1..300_001).collect::<Vec<u32>>().into();
        let done = Harness::new("{}")
            .input("left", "application/json", left.to_string().into_bytes())
            .input("right", "application/json", right.to_string().into_bytes())
            .max_read(4096)
            .run::<JsonCompare>();
        assert!(done.largest_read <= 1 << 20, "{}", done.largest_read);
        let out: Value = serde_json::from_slice(&done.result.unwrap()).unwrap();
        assert_eq!(out["summary"]["added"], 1);
        assert_eq!(out["summary"]["removed"], 1);
    }

    #[test]
    fn bad_inputs_are_invalid_input() {
        let error = run("{}", "{", "{}").result.unwrap_err();
        assert_eq!(error.code(), "invalid-input");
        assert!(error.message().contains("`left`"), "{error}");
        let error = Harness::new("{}")
            .input("left", "application/json", b"{}".to_vec())
            .run::<JsonCompare>()
            .result
            .unwrap_err();
        assert_eq!(error.code(), "invalid-input");
        assert!(error.message().contains("`right`"), "{error}");
    }

    #[test]
    fn cancel_during_compare_stops_the_run() {
        let left: Value = (0..10_000).collect::<Vec<u32>>().into();
        let right: Value = (0..10_000).rev().collect::<Vec<u32>>().into();
        let done = Harness::new("{}")
            .input("left", "application/json", left.to_string().into_bytes())
            .input("right", "application/json", right.to_string().into_bytes())
            .cancel_after(5)
            .run::<JsonCompare>();
        assert!(done.result.unwrap_err().is_canceled());
        assert_eq!(done.progress.len(), 5, "no report after the cancel");
    }
}
