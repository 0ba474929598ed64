//! The `json-merge` operation through the SDK: its description, its params,
//! and the run (`parse`, `merge`, `render`).

use std::io;

use longrun_plugin::{Description, Error, InputSpec, Inputs, Operation, Run};
use serde::Deserialize;
use serde_json::Value;

use crate::conflict;
use crate::merge::{Resolution, Version, try_merge};
use crate::parse::parse_all;
use crate::progress::{Cancelled, Progress};

/// The operation name.
pub const NAME: &str = "json-merge";
/// The stages, in order, with their weights.
pub const STAGES: [(&str, u32); 3] = [("parse", 45), ("merge", 35), ("render", 20)];
/// The most versions a run takes: `version-1` to `version-8`.
pub const MAX_VERSIONS: u32 = 8;
/// The versions every run needs: `version-1` and `version-2`.
pub const REQUIRED_VERSIONS: u32 = 2;
/// At most this many conflict pointers are listed in a `merge-conflict` error.
pub const LISTED_CONFLICTS: usize = 20;
/// The error code of a run with conflicts when `onConflict` is `fail`.
pub const MERGE_CONFLICT: &str = "merge-conflict";
/// The media type of the inputs and of the result.
pub const JSON: &str = "application/json";

const DESCRIPTION: &str = "Three-way merge of JSON documents: `ancestor` and two to eight \
versions derived from it (`version-1` … `version-8`), merged in that order. At each location, \
from the root: if no version changed it, the ancestor's value stays; if the versions that changed \
it agree (the same value, or all deleted it), their change is taken; if the ancestor and every \
changed version have objects there, they are merged member by member; otherwise it is a conflict. \
Arrays and scalars are atomic (arrays are never merged element by element). The result is \
{\"merged\": <document>, \"clean\": bool, \"conflicts\": [{\"pointer\", \"ancestor\", \
\"versions\"}]}: each side of a conflict is {\"value\": …} or {\"absent\": true}, so a deleted \
member is never confused with null. `onConflict` decides the merged value at a conflict: the \
ancestor's (default), the first change's, or `fail` (error code merge-conflict). Members of merged \
objects are sorted by key.";

/// The JSON Schema (draft 2020-12) of the params object.
pub const PARAMS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "json-merge params",
  "type": "object",
  "properties": {
    "onConflict": {
      "description": "What to do at a conflict: keep the ancestor's value or absence (`ancestor`), take the first version that changed it (`first`), or fail the run with the error code `merge-conflict` (`fail`). Conflicts are reported in the result either way.",
      "enum": ["ancestor", "first", "fail"],
      "default": "ancestor"
    }
  },
  "additionalProperties": false
}"#;

/// The `json-merge` operation.
#[derive(Debug, Clone, Copy)]
pub struct JsonMerge;

/// What to do at a conflict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    /// Keep the ancestor's value (or absence).
    #[default]
    Ancestor,
    /// Take the first version that changed it.
    First,
    /// Fail the run with the error code `merge-conflict`.
    Fail,
}

/// The params object (see [`PARAMS_SCHEMA`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Params {
    /// What to do at a conflict.
    #[serde(default)]
    pub on_conflict: OnConflict,
}

/// The name of the input holding version `number`.
#[must_use]
pub fn version_input(number: u32) -> String {
    format!("version-{number}")
}

impl Operation for JsonMerge {
    type Params = Params;

    fn describe() -> Description {
        let mut description = Description::new(NAME, env!("CARGO_PKG_VERSION"))
            .title("Merge JSON documents three ways")
            .description(DESCRIPTION);
        for (stage, weight) in STAGES {
            description = description.stage(stage, weight);
        }
        description = description.input(
            InputSpec::new("ancestor")
                .description("The common ancestor the versions were derived from.")
                .media_types([JSON])
                .required(),
        );
        for number in 1..=MAX_VERSIONS {
            let mut input = InputSpec::new(version_input(number))
                .description(format!(
                    "Version {number}, derived from `ancestor`; versions merge in number order."
                ))
                .media_types([JSON]);
            if number <= REQUIRED_VERSIONS {
                input = input.required();
            }
            description = description.input(input);
        }
        description
            .params_schema(PARAMS_SCHEMA)
            .result_media_type(JSON)
    }

    fn run(params: Params, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
        run.stage("parse")?;
        let mut numbers = Vec::new();
        let mut given = vec![inputs.require("ancestor")?];
        for number in 1..=MAX_VERSIONS {
            let name = version_input(number);
            let input = if number <= REQUIRED_VERSIONS {
                Some(inputs.require(&name)?)
            } else {
                inputs.get(&name)
            };
            if let Some(input) = input {
                numbers.push(number);
                given.push(input);
            }
        }
        let mut documents = parse_all(&given, run)?.into_iter();
        let Some(ancestor) = documents.next() else {
            unreachable!("the ancestor was parsed first")
        };
        let documents: Vec<Value> = documents.collect();

        run.stage("merge")?;
        let versions: Vec<Version<'_>> = numbers
            .iter()
            .zip(&documents)
            .map(|(&number, document)| Version { number, document })
            .collect();
        let resolution = match params.on_conflict {
            OnConflict::First => Resolution::First,
            OnConflict::Ancestor | OnConflict::Fail => Resolution::Ancestor,
        };
        let mut stopped = None;
        let mut advance = |progress: Progress| match run.advance(progress.done, progress.total) {
            Ok(()) => true,
            Err(error) => {
                stopped = Some(error);
                false
            }
        };
        let outcome = try_merge(&ancestor, &versions, resolution, &mut advance);
        let merge = outcome.map_err(|Cancelled| stopped.unwrap_or_else(Error::canceled))?;
        // The merge owns what it keeps: free the inputs before rendering.
        drop(versions);
        drop((ancestor, documents));
        if !merge.is_clean() {
            let line = conflict::summary(&merge.conflicts, LISTED_CONFLICTS);
            if params.on_conflict == OnConflict::Fail {
                return Err(Error::new(MERGE_CONFLICT, line));
            }
            run.info(&line);
        }

        run.stage("render")?;
        serde_json::to_writer(run.output(), &merge)
            .map_err(|error| Error::from(io::Error::from(error)))?;
        run.advance(1, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_is_json_and_lists_what_the_params_accept() {
        let schema: Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        let choices = schema["properties"]["onConflict"]["enum"]
            .as_array()
            .unwrap();
        for choice in choices {
            let params = serde_json::json!({ "onConflict": choice });
            assert!(serde_json::from_value::<Params>(params).is_ok(), "{choice}");
        }
        assert_eq!(choices.len(), 3);
        let default = &schema["properties"]["onConflict"]["default"];
        let params = serde_json::from_value::<Params>(serde_json::json!({ "onConflict": default }));
        assert_eq!(params.unwrap(), Params::default());
    }

    #[test]
    fn the_description_declares_the_inputs_and_stages() {
        let description = JsonMerge::describe();
        assert_eq!(description.name(), NAME);
        let inputs: Vec<(&str, bool)> = description
            .inputs()
            .iter()
            .map(|input| (input.name(), input.is_required()))
            .collect();
        assert_eq!(inputs.len(), 9);
        assert_eq!(
            inputs[..3],
            [("ancestor", true), ("version-1", true), ("version-2", true)]
        );
        assert_eq!(inputs[8], ("version-8", false));
        let stages: Vec<&str> = description
            .stages()
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(stages, ["parse", "merge", "render"]);
    }
}
