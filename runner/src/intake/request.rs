//! The JSON form of a start request, parsed strictly: unknown fields and wrong
//! types are `400 malformed-request`, with the field named.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::problem::{Problem, ProblemKind};
use crate::store::StagedInput;

/// One input as the request gave it, before it is resolved to bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum RawInput {
    /// `{"json": …}`: the JSON value, serialized.
    Json {
        /// The value.
        value: Value,
        /// An explicit media type.
        media_type: Option<String>,
    },
    /// `{"text": "…"}`: UTF-8 text.
    Text {
        /// The text.
        text: String,
        /// An explicit media type.
        media_type: Option<String>,
    },
    /// `{"base64": "…"}`: bytes in standard base64.
    Base64 {
        /// The base64 text.
        data: String,
        /// An explicit media type.
        media_type: Option<String>,
    },
    /// `{"url": "https://…"}`: fetched by the runner.
    Url {
        /// The URL.
        url: String,
        /// An explicit media type.
        media_type: Option<String>,
    },
    /// `{"file": "rel/path"}`: read from under the input root.
    File {
        /// The relative path.
        path: String,
        /// An explicit media type.
        media_type: Option<String>,
    },
    /// A multipart part, staged on disk as it arrived.
    Staged {
        /// The staged file (removed when the last reference goes, unless
        /// the job was committed).
        file: Arc<StagedInput>,
        /// The part's Content-Type.
        media_type: Option<String>,
    },
}

/// A start request, parsed but not yet validated against an operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawStart {
    /// The inputs, in request order.
    pub inputs: Vec<(String, RawInput)>,
    /// `params`, if given.
    pub params: Option<Value>,
    /// `output.file`, if given.
    pub output_file: Option<String>,
    /// `ttlSeconds`, if given.
    pub ttl_seconds: Option<i64>,
    /// `timeoutSeconds`, if given.
    pub timeout_seconds: Option<i64>,
    /// `correlationId`, if given.
    pub correlation_id: Option<String>,
    /// `callback`, if given.
    pub callback: Option<Value>,
}

/// A `400 malformed-request` problem.
pub(super) fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::MalformedRequest, detail)
}

/// Parse a JSON start request body.
pub fn parse_json(body: &[u8]) -> Result<RawStart, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the body is not valid JSON: {e}")))?;
    let Value::Object(fields) = value else {
        return Err(malformed("the body must be a JSON object"));
    };
    let mut start = RawStart::default();
    for (key, value) in fields {
        match key.as_str() {
            "inputs" => {
                let Value::Object(inputs) = value else {
                    return Err(malformed("`inputs` must be an object of named inputs"));
                };
                for (name, input) in inputs {
                    let input = parse_input(&name, input)?;
                    start.inputs.push((name, input));
                }
            }
            "params" => start.params = Some(value),
            "output" => start.output_file = Some(parse_output(value)?),
            "ttlSeconds" => start.ttl_seconds = Some(integer(&key, &value)?),
            "timeoutSeconds" => start.timeout_seconds = Some(integer(&key, &value)?),
            "correlationId" => match value {
                Value::String(s) => start.correlation_id = Some(s),
                _ => return Err(malformed("`correlationId` must be a string")),
            },
            "callback" => start.callback = Some(value),
            other => {
                return Err(malformed(format!(
                    "unknown field `{other}`; a start request has inputs, params, output, ttlSeconds, timeoutSeconds, correlationId and callback"
                )));
            }
        }
    }
    Ok(start)
}

/// Parse `{"file": "…"}`.
pub(super) fn parse_output(value: Value) -> Result<String, Problem> {
    let Value::Object(mut fields) = value else {
        return Err(malformed(
            "`output` must be an object such as {\"file\": \"out/result.json\"}",
        ));
    };
    let file = match fields.remove("file") {
        Some(Value::String(file)) => file,
        _ => return Err(malformed("`output.file` must be a string")),
    };
    if let Some(other) = fields.keys().next() {
        return Err(malformed(format!("unknown field `output.{other}`")));
    }
    Ok(file)
}

/// Parse an integer field.
/// A JSON integer. One too large for 64 bits is kept at the nearest 64-bit
/// bound, so that the bounds check answers it (`422`), not the type check.
pub(super) fn integer(key: &str, value: &Value) -> Result<i64, Problem> {
    if let Some(i) = value.as_i64() {
        return Ok(i);
    }
    if value.is_u64() {
        return Ok(i64::MAX);
    }
    match value.as_f64() {
        // serde_json reads integers beyond 64 bits as floats.
        Some(f) if f.fract() == 0.0 && f.abs() >= 9.0e18 => {
            Ok(if f > 0.0 { i64::MAX } else { i64::MIN })
        }
        _ => Err(malformed(format!("`{key}` must be an integer"))),
    }
}

fn parse_input(name: &str, value: Value) -> Result<RawInput, Problem> {
    let Value::Object(mut fields) = value else {
        return Err(malformed(format!(
            "input `{name}` must be an object with one of json, text, base64, url or file"
        )));
    };
    let media_type = match fields.remove("mediaType") {
        None => None,
        Some(Value::String(m)) => Some(m),
        Some(_) => {
            return Err(malformed(format!(
                "`inputs.{name}.mediaType` must be a string such as \"text/csv\""
            )));
        }
    };
    let kinds = ["json", "text", "base64", "url", "file"];
    let given: Vec<&str> = kinds
        .into_iter()
        .filter(|k| fields.contains_key(*k))
        .collect();
    if let Some(other) = fields.keys().find(|k| !kinds.contains(&k.as_str())) {
        return Err(malformed(format!("unknown field `inputs.{name}.{other}`")));
    }
    let [kind] = given.as_slice() else {
        return Err(malformed(format!(
            "input `{name}` must have exactly one of json, text, base64, url or file (it has {})",
            if given.is_empty() {
                "none".to_owned()
            } else {
                given.join(", ")
            }
        )));
    };
    let value = fields.remove(*kind).expect("present");
    let string = |fields: &Map<String, Value>, value: Value| -> Result<String, Problem> {
        let _ = fields;
        match value {
            Value::String(s) => Ok(s),
            _ => Err(malformed(format!(
                "`inputs.{name}.{kind}` must be a string"
            ))),
        }
    };
    Ok(match *kind {
        "json" => RawInput::Json { value, media_type },
        "text" => RawInput::Text {
            text: string(&fields, value)?,
            media_type,
        },
        "base64" => RawInput::Base64 {
            data: string(&fields, value)?,
            media_type,
        },
        "url" => RawInput::Url {
            url: string(&fields, value)?,
            media_type,
        },
        _ => RawInput::File {
            path: string(&fields, value)?,
            media_type,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_input_kind() {
        let body =
            br#"{"inputs": {"a": {"json": null}, "b": {"text": "t", "mediaType": "text/csv"},
            "c": {"base64": "AA=="}, "d": {"url": "https://x"}, "e": {"file": "f"}},
            "params": {"x": 1}, "ttlSeconds": 5, "correlationId": "c", "output": {"file": "o"}}"#;
        let start = parse_json(body).unwrap();
        assert_eq!(start.inputs.len(), 5);
        assert_eq!(
            start.inputs[0].1,
            RawInput::Json {
                value: Value::Null,
                media_type: None
            }
        );
        assert_eq!(
            start.inputs[1].1,
            RawInput::Text {
                text: "t".into(),
                media_type: Some("text/csv".into())
            }
        );
        assert_eq!(start.ttl_seconds, Some(5));
        assert_eq!(start.output_file.as_deref(), Some("o"));
    }

    #[test]
    fn refuses_malformed_requests() {
        for body in [
            &b"not json"[..],
            b"[]",
            br#"{"unknown": 1}"#,
            br#"{"inputs": []}"#,
            br#"{"inputs": {"a": {}}}"#,
            br#"{"inputs": {"a": {"json": 1, "text": "x"}}}"#,
            br#"{"inputs": {"a": {"text": 1}}}"#,
            br#"{"inputs": {"a": {"text": "x", "extra": 1}}}"#,
            br#"{"ttlSeconds": "10"}"#,
            br#"{"ttlSeconds": 1.5}"#,
            br#"{"output": "x"}"#,
            br#"{"correlationId": 7}"#,
        ] {
            let problem = parse_json(body).unwrap_err();
            assert!(
                problem.is(ProblemKind::MalformedRequest),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
