//! The request of `longrun plugin run`, from its command line: inputs
//! (`NAME=@PATH[;type=MEDIA]`), params (JSON or `@FILE`) and a memory size,
//! checked against the operation's description as the server checks a start
//! request (same rules, same messages).

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use crate::intake::{accepts, is_media_type};
use crate::operations::validate_params;
use crate::plugin::{Description, Input, InputData};

/// The fallback media type of an input that declares none.
const DEFAULT_MEDIA_TYPE: &str = "application/octet-stream";

/// One `--input`, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputArg {
    /// The input's name.
    pub name: String,
    /// The file with its bytes.
    pub path: PathBuf,
    /// The media type given with `;type=`, if any.
    pub media_type: Option<String>,
}

impl InputArg {
    /// Parses `NAME=@PATH` or `NAME=@PATH;type=MEDIA`.
    pub fn parse(text: &str) -> Result<InputArg, String> {
        let usage = || {
            format!(
                "--input `{text}`: expected NAME=@PATH or NAME=@PATH;type=MEDIA, e.g. \
                 text=@notes.txt;type=text/plain"
            )
        };
        let (name, rest) = text.split_once('=').ok_or_else(usage)?;
        let rest = rest.strip_prefix('@').ok_or_else(usage)?;
        let (path, media_type) = match rest.rfind(";type=") {
            Some(at) => (&rest[..at], Some(rest[at + ";type=".len()..].to_owned())),
            None => (rest, None),
        };
        if name.is_empty() || path.is_empty() {
            return Err(usage());
        }
        Ok(InputArg {
            name: name.to_owned(),
            path: PathBuf::from(path),
            media_type,
        })
    }
}

/// Parses `--params`: a JSON object, or `@FILE` holding one.
pub fn parse_params(text: &str) -> Result<Value, String> {
    let (json, from) = match text.strip_prefix('@') {
        Some(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("--params @{path}: cannot read the file: {e}"))?,
            format!("the file {path}"),
        ),
        None => (text.to_owned(), "--params".to_owned()),
    };
    let params: Value =
        serde_json::from_str(&json).map_err(|e| format!("{from} is not valid JSON: {e}"))?;
    if !params.is_object() {
        return Err(format!(
            "{from} must be a JSON object (params are always an object), e.g. '{{\"top\": 3}}'"
        ));
    }
    Ok(params)
}

/// Parses `--memory-limit`: bytes, or a number with `KiB`, `MiB` or `GiB`.
pub fn parse_byte_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 0,
    };
    digits
        .parse::<u64>()
        .ok()
        .filter(|_| multiplier > 0)
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| {
            format!("--memory-limit `{text}`: expected bytes, or a number with KiB, MiB or GiB")
        })
}

/// Checks `params` against the operation's params schema: `Err` with the
/// server's `invalid-params` message and every violation, one per line
/// (JSON pointer and message). A schema that does not compile is the
/// plugin's problem and says so.
pub fn check_params(description: &Description, params: &Value) -> Result<(), ParamsRefusal> {
    let validator = jsonschema::validator_for(&description.params_schema).map_err(|e| {
        ParamsRefusal::BadSchema(format!(
            "the params schema of `{}` is not a valid JSON Schema ({e}); see `longrun plugin \
             check`",
            description.name
        ))
    })?;
    let problem = match validate_params(&validator, &description.name, params) {
        Ok(()) => return Ok(()),
        Err(problem) => problem,
    };
    let mut message = problem.detail.unwrap_or_default();
    let errors = problem.extensions.get("errors").and_then(Value::as_array);
    for error in errors.into_iter().flatten() {
        let pointer = error["pointer"].as_str().unwrap_or_default();
        let pointer = if pointer.is_empty() {
            "(root)"
        } else {
            pointer
        };
        let text = error["message"].as_str().unwrap_or_default();
        message.push_str(&format!("\n  at {pointer}: {text}"));
    }
    Err(ParamsRefusal::Invalid(message))
}

/// Why params were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsRefusal {
    /// They do not match the schema (the caller's mistake).
    Invalid(String),
    /// The schema itself is broken (the plugin's).
    BadSchema(String),
}

/// Checks the inputs against the description as the server does (each
/// declared, required ones present, an accepted media type, within
/// `maxBytes`) and resolves them to files. Every problem found, one per
/// line.
pub fn resolve_inputs(
    description: &Description,
    given: Vec<InputArg>,
) -> Result<Vec<Input>, String> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    let declared: Vec<&str> = description.inputs.iter().map(|i| i.name.as_str()).collect();
    for input in &given {
        if !seen.insert(input.name.as_str()) {
            errors.push(format!("input `{}`: given more than once", input.name));
        }
        if !declared.contains(&input.name.as_str()) {
            let known = if declared.is_empty() {
                "none".to_owned()
            } else {
                declared.join(", ")
            };
            errors.push(format!(
                "input `{}`: `{}` does not take an input called `{}` (it takes: {known})",
                input.name, description.name, input.name
            ));
        }
    }
    for spec in &description.inputs {
        if spec.required && !seen.contains(spec.name.as_str()) {
            errors.push(format!(
                "input `{}`: this input is required (give it with --input {}=@PATH)",
                spec.name, spec.name
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let mut inputs = Vec::with_capacity(given.len());
    for input in given {
        let Some(spec) = description.inputs.iter().find(|s| s.name == input.name) else {
            continue;
        };
        let size = match std::fs::metadata(&input.path) {
            Ok(meta) if meta.is_file() => meta.len(),
            Ok(_) => {
                errors.push(format!(
                    "input `{}`: {} is not a file",
                    input.name,
                    input.path.display()
                ));
                continue;
            }
            Err(e) => {
                errors.push(format!(
                    "input `{}`: cannot read {}: {e}",
                    input.name,
                    input.path.display()
                ));
                continue;
            }
        };
        if let Some(max) = spec.max_bytes
            && size > max
        {
            errors.push(format!(
                "input `{}` has {size} bytes; the limit is {max}",
                input.name
            ));
        }
        let media_type = match input.media_type {
            Some(given) if !is_media_type(&given) => {
                errors.push(format!(
                    "input `{}`: `{given}` is not a media type; write it as type/subtype, e.g. \
                     text/csv",
                    input.name
                ));
                continue;
            }
            Some(given) => given,
            None => spec
                .media_types
                .iter()
                .find(|m| !m.ends_with("/*"))
                .cloned()
                .unwrap_or_else(|| DEFAULT_MEDIA_TYPE.to_owned()),
        };
        if !accepts(&spec.media_types, &media_type) {
            errors.push(format!(
                "input `{}`: media type `{media_type}` is not accepted; use one of: {} \
                 (--input {}=@PATH;type=MEDIA)",
                input.name,
                spec.media_types.join(", "),
                input.name
            ));
            continue;
        }
        inputs.push(Input {
            name: input.name,
            media_type,
            data: InputData::File(input.path),
        });
    }
    if errors.is_empty() {
        Ok(inputs)
    } else {
        Err(errors.join("\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::InputSpec;

    fn description() -> Description {
        Description {
            name: "demo".into(),
            version: "1.0.0".into(),
            title: "Demo".into(),
            description: String::new(),
            stages: vec![],
            inputs: vec![
                InputSpec {
                    name: "text".into(),
                    description: String::new(),
                    media_types: vec!["text/*".into(), "text/plain".into()],
                    required: true,
                    max_bytes: Some(8),
                },
                InputSpec {
                    name: "extra".into(),
                    description: String::new(),
                    media_types: vec![],
                    required: false,
                    max_bytes: None,
                },
            ],
            params_schema: serde_json::json!({
                "type": "object",
                "properties": {"top": {"type": "integer"}},
                "additionalProperties": false
            }),
            result_media_type: "application/json".into(),
        }
    }

    #[test]
    fn input_arguments() {
        let arg = InputArg::parse("text=@a;b.txt;type=text/csv").unwrap();
        assert_eq!(arg.name, "text");
        assert_eq!(arg.path, PathBuf::from("a;b.txt"));
        assert_eq!(arg.media_type.as_deref(), Some("text/csv"));
        assert_eq!(InputArg::parse("x=@p").unwrap().media_type, None);
        for bad in ["text", "text=p", "=@p", "text=@", "text=@;type=a/b"] {
            let error = InputArg::parse(bad).unwrap_err();
            assert!(error.contains("NAME=@PATH"), "{bad}: {error}");
        }
    }

    #[test]
    fn params_and_sizes() {
        assert_eq!(parse_params(r#"{"a": 1}"#).unwrap()["a"], 1);
        assert!(parse_params("[1]").unwrap_err().contains("JSON object"));
        assert!(parse_params("{").unwrap_err().contains("not valid JSON"));
        assert!(
            parse_params("@/no/such/file")
                .unwrap_err()
                .contains("cannot read")
        );
        assert_eq!(parse_byte_size("1024").unwrap(), 1024);
        assert_eq!(parse_byte_size("64MiB").unwrap(), 64 << 20);
        assert_eq!(parse_byte_size("2 GiB").unwrap(), 2 << 30);
        for bad in ["", "MiB", "12MB", "-1", "99999999999999999999GiB"] {
            assert!(parse_byte_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn params_are_checked_like_the_server_does() {
        let d = description();
        assert_eq!(check_params(&d, &serde_json::json!({"top": 2})), Ok(()));
        let Err(ParamsRefusal::Invalid(message)) =
            check_params(&d, &serde_json::json!({"top": "x"}))
        else {
            panic!("params with a string `top` pass");
        };
        assert!(
            message.starts_with("the params do not match the schema of `demo`: "),
            "{message}"
        );
        assert!(message.contains("\n  at /top: "), "{message}");
        let mut broken = d.clone();
        broken.params_schema = serde_json::json!({"type": 5});
        assert!(matches!(
            check_params(&broken, &serde_json::json!({})),
            Err(ParamsRefusal::BadSchema(_))
        ));
    }

    #[test]
    fn inputs_are_checked_like_the_server_does() {
        let temp = tempfile::tempdir().unwrap();
        let small = temp.path().join("small.txt");
        let big = temp.path().join("big.txt");
        std::fs::write(&small, "hi").unwrap();
        std::fs::write(&big, "0123456789").unwrap();
        let arg = |name: &str, path: &std::path::Path, media_type: Option<&str>| InputArg {
            name: name.into(),
            path: path.to_path_buf(),
            media_type: media_type.map(str::to_owned),
        };
        let d = description();

        let inputs = resolve_inputs(&d, vec![arg("text", &small, None)]).unwrap();
        assert_eq!(
            inputs[0].media_type, "text/plain",
            "first concrete declared type"
        );
        let inputs = resolve_inputs(
            &d,
            vec![arg("text", &small, None), arg("extra", &big, None)],
        )
        .unwrap();
        assert_eq!(inputs[1].media_type, DEFAULT_MEDIA_TYPE);

        let error = resolve_inputs(&d, vec![arg("other", &small, None)]).unwrap_err();
        assert!(
            error.contains("does not take an input called `other`"),
            "{error}"
        );
        assert!(
            error.contains("input `text`: this input is required"),
            "{error}"
        );
        let error = resolve_inputs(&d, vec![arg("text", &big, None)]).unwrap_err();
        assert!(error.contains("has 10 bytes; the limit is 8"), "{error}");
        let error = resolve_inputs(&d, vec![arg("text", &small, Some("image/png"))]).unwrap_err();
        assert!(error.contains("`image/png` is not accepted"), "{error}");
        let error = resolve_inputs(&d, vec![arg("text", &small, Some("png"))]).unwrap_err();
        assert!(error.contains("not a media type"), "{error}");
        let missing = temp.path().join("missing");
        let error = resolve_inputs(&d, vec![arg("text", &missing, None)]).unwrap_err();
        assert!(error.contains("cannot read"), "{error}");
    }
}
