//! What a plugin says about its operation ([`Description`]), and the checks a
//! description must pass before the runner offers the operation.

use std::collections::HashSet;

use serde::Serialize;

use super::bindings::types;

/// An operation as its plugin describes it; shown by `GET /v1/operations/{op}`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    /// The operation name: `^[a-z0-9][a-z0-9-]{0,63}$`.
    pub name: String,
    /// The plugin's own version (non-empty; semver by convention).
    pub version: String,
    /// A short title for people.
    pub title: String,
    /// A longer description for people.
    pub description: String,
    /// The stages a run goes through, in order (unique names; may be empty).
    pub stages: Vec<String>,
    /// The inputs the operation accepts (unique names).
    pub inputs: Vec<InputSpec>,
    /// The JSON Schema of the `params` object (a JSON object).
    pub params_schema: serde_json::Value,
    /// The media type of the result bytes.
    pub result_media_type: String,
}

/// One input an operation accepts.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSpec {
    /// The input's name, as used in a start request (`inputs.<name>`).
    pub name: String,
    /// What the input is for, for people.
    pub description: String,
    /// The media types accepted; empty means any.
    pub media_types: Vec<String>,
    /// Whether a start request must provide it.
    pub required: bool,
    /// The largest accepted size in bytes, if the plugin has a limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
}

/// Whether `name` is a valid operation name: `^[a-z0-9][a-z0-9-]{0,63}$`.
pub fn is_valid_operation_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0] != b'-'
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Description {
    /// Checks a guest's description and turns it into the host's, or says
    /// what is wrong with it.
    pub(crate) fn from_guest(guest: types::Description) -> Result<Description, String> {
        if !is_valid_operation_name(&guest.name) {
            return Err(format!(
                "the operation name {:?} is invalid: use 1 to 64 lowercase letters, digits \
                 and '-', not starting with '-'",
                guest.name
            ));
        }
        if guest.version.trim().is_empty() {
            return Err("the version is empty".into());
        }
        let params_schema: serde_json::Value = serde_json::from_str(&guest.params_schema)
            .map_err(|e| format!("params-schema is not valid JSON: {e}"))?;
        if !params_schema.is_object() {
            return Err(format!(
                "params-schema must be a JSON object (a JSON Schema), not {}",
                json_kind(&params_schema)
            ));
        }
        let mut seen = HashSet::new();
        for stage in &guest.stages {
            if stage.is_empty() {
                return Err("a stage name is empty".into());
            }
            if !seen.insert(stage.as_str()) {
                return Err(format!("the stage name {stage:?} appears more than once"));
            }
        }
        let mut seen = HashSet::new();
        for input in &guest.inputs {
            if input.name.is_empty() {
                return Err("an input name is empty".into());
            }
            if !seen.insert(input.name.as_str()) {
                return Err(format!(
                    "the input name {:?} appears more than once",
                    input.name
                ));
            }
        }
        if !guest.result_media_type.contains('/') {
            return Err(format!(
                "result-media-type {:?} is not a media type (type/subtype)",
                guest.result_media_type
            ));
        }
        Ok(Description {
            name: guest.name,
            version: guest.version,
            title: guest.title,
            description: guest.description,
            stages: guest.stages,
            inputs: guest
                .inputs
                .into_iter()
                .map(|input| InputSpec {
                    name: input.name,
                    description: input.description,
                    media_types: input.media_types,
                    required: input.required,
                    max_bytes: input.max_bytes,
                })
                .collect(),
            params_schema,
            result_media_type: guest.result_media_type,
        })
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guest() -> types::Description {
        types::Description {
            name: "text-diff".into(),
            version: "1.0.0".into(),
            title: "Text diff".into(),
            description: "Diffs two texts.".into(),
            stages: vec!["read".into(), "diff".into()],
            inputs: vec![types::InputSpec {
                name: "left".into(),
                description: "the old text".into(),
                media_types: vec!["text/plain".into()],
                required: true,
                max_bytes: Some(10),
            }],
            params_schema: r#"{"type":"object"}"#.into(),
            result_media_type: "text/x-diff".into(),
        }
    }

    #[test]
    fn operation_names() {
        for ok in ["a", "0", "json-compare", "a-", &"a".repeat(64)] {
            assert!(is_valid_operation_name(ok), "{ok}");
        }
        for bad in ["", "-a", "A", "a_b", "a b", "é", &"a".repeat(65)] {
            assert!(!is_valid_operation_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_description_converts_and_serializes_in_camel_case() {
        let d = Description::from_guest(guest()).unwrap();
        let json = serde_json::to_value(&d).unwrap();
        assert_eq!(json["name"], "text-diff");
        assert_eq!(json["paramsSchema"], serde_json::json!({"type": "object"}));
        assert_eq!(json["resultMediaType"], "text/x-diff");
        assert_eq!(json["inputs"][0]["mediaTypes"][0], "text/plain");
        assert_eq!(json["inputs"][0]["maxBytes"], 10);
        let mut g = guest();
        g.inputs[0].max_bytes = None;
        let json = serde_json::to_value(Description::from_guest(g).unwrap()).unwrap();
        assert!(json["inputs"][0].get("maxBytes").is_none());
    }

    #[test]
    fn bad_descriptions_say_what_is_wrong() {
        type Breakage = fn(&mut types::Description);
        let cases: Vec<(Breakage, &str)> = vec![
            (|g| g.name = "Bad".into(), "operation name"),
            (|g| g.version = " ".into(), "version"),
            (|g| g.params_schema = "{".into(), "not valid JSON"),
            (|g| g.params_schema = "[]".into(), "not an array"),
            (|g| g.stages.push("read".into()), "more than once"),
            (|g| g.stages.push(String::new()), "stage name is empty"),
            (|g| g.inputs.push(g.inputs[0].clone()), "more than once"),
            (|g| g.result_media_type = "json".into(), "media type"),
        ];
        for (break_it, expected) in cases {
            let mut g = guest();
            break_it(&mut g);
            let err = Description::from_guest(g).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
