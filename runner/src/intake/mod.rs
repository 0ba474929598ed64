//! Intake: turning a start request (JSON or multipart) into a validated
//! [`NewJob`], before anything is committed.
//!
//! Checks, in order: the body parses (400) and has only known fields (400);
//! every input is declared, present when required, resolves to bytes (from JSON,
//! text, base64, a URL through the guard, or a file under the input root) of an
//! accepted media type (422) and size (413); the params match the operation's
//! schema (422); the TTL, timeout, output file and correlation id are in bounds
//! (422). A request that passes is a job that can run.

mod callback;
mod fetch;
mod files;
mod form;
mod request;

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use serde_json::Value;

pub use form::parse_multipart;
pub use request::{RawInput, RawStart, parse_json};

use crate::config::Config;
use crate::jobs::{InputBytes, NewInput, NewJob};
use crate::operations::Operation;
use crate::plugin::InputSpec;
use crate::problem::{Problem, ProblemKind};

/// The most characters a correlation id may have.
pub const MAX_CORRELATION_ID: usize = 256;

/// Validate `raw` against `operation` and the server's limits and resolve its
/// inputs to bytes.
pub async fn prepare(
    raw: RawStart,
    operation: &Operation,
    config: &Config,
    tenant: &str,
    idempotency_key: Option<String>,
) -> Result<NewJob, Problem> {
    let description = operation.plugin.description();
    let limits = &config.limits;

    let callback = match raw.callback {
        Some(value) => Some(callback::parse(value, config).await?),
        None => None,
    };

    let specs: BTreeMap<&str, &InputSpec> = description
        .inputs
        .iter()
        .map(|spec| (spec.name.as_str(), spec))
        .collect();
    let mut errors = Vec::new();
    for (name, _) in &raw.inputs {
        if !specs.contains_key(name.as_str()) {
            let known = specs.keys().copied().collect::<Vec<_>>().join(", ");
            errors.push(input_error(
                name,
                format!(
                    "`{}` does not take an input called `{name}` (it takes: {})",
                    description.name,
                    if known.is_empty() { "none" } else { &known }
                ),
            ));
        }
    }
    for spec in &description.inputs {
        if spec.required && !raw.inputs.iter().any(|(name, _)| name == &spec.name) {
            errors.push(input_error(&spec.name, "this input is required"));
        }
    }
    if !errors.is_empty() {
        return Err(invalid_inputs(errors));
    }

    let mut inputs = Vec::with_capacity(raw.inputs.len());
    for (name, value) in raw.inputs {
        let spec = specs[name.as_str()];
        let input = resolve(&name, value, spec, config).await?;
        inputs.push(input);
    }

    let params = raw
        .params
        .unwrap_or_else(|| Value::Object(Default::default()));
    if !params.is_object() {
        return Err(
            Problem::new(ProblemKind::InvalidParams, "`params` must be a JSON object").with(
                "errors",
                serde_json::json!([{"pointer": "", "message": "params must be a JSON object"}]),
            ),
        );
    }
    operation.validate_params(&params)?;

    let ttl_seconds = bounded(
        "ttlSeconds",
        raw.ttl_seconds,
        limits.default_ttl_seconds,
        limits.min_ttl_seconds,
        limits.max_ttl_seconds,
    )?;
    let timeout_seconds = bounded(
        "timeoutSeconds",
        raw.timeout_seconds,
        limits.default_timeout_seconds,
        1,
        limits.max_timeout_seconds,
    )?;
    if let Some(id) = &raw.correlation_id
        && (id.is_empty() || id.chars().count() > MAX_CORRELATION_ID)
    {
        return Err(Problem::new(
            ProblemKind::InvalidRequest,
            format!("`correlationId` must have 1 to {MAX_CORRELATION_ID} characters"),
        ));
    }
    let output_file = match raw.output_file {
        None => None,
        Some(path) => {
            if config.output_root.is_none() {
                return Err(Problem::new(
                    ProblemKind::InvalidRequest,
                    "`output.file` needs an output root, and this server has none configured (--output-root)",
                ));
            }
            let root = config.output_root.clone().expect("checked above");
            let checked = path.clone();
            tokio::task::spawn_blocking(move || crate::confine::confine(&root, &checked))
                .await
                .map_err(|e| Problem::new(ProblemKind::Internal, e.to_string()))?
                .map_err(|why| {
                    Problem::new(ProblemKind::InvalidRequest, format!("`output.file`: {why}"))
                })?;
            Some(path)
        }
    };

    Ok(NewJob {
        tenant: tenant.to_owned(),
        operation: description.name.clone(),
        operation_version: description.version.clone(),
        params,
        inputs,
        ttl_seconds,
        timeout_seconds,
        correlation_id: raw.correlation_id,
        output_file,
        idempotency_key,
        callback,
    })
}

/// Resolve one input to bytes and check its media type and size.
async fn resolve(
    name: &str,
    value: RawInput,
    spec: &InputSpec,
    config: &Config,
) -> Result<NewInput, Problem> {
    let max = input_limit(spec, config);
    let (data, default_type, media_type) = match value {
        RawInput::Json { value, media_type } => (
            InputBytes::Memory(serde_json::to_vec(&value).expect("JSON values serialize")),
            "application/json".to_owned(),
            media_type,
        ),
        RawInput::Text { text, media_type } => (
            InputBytes::Memory(text.into_bytes()),
            "text/plain; charset=utf-8".to_owned(),
            media_type,
        ),
        RawInput::Base64 { data, media_type } => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .map_err(|e| {
                    invalid_inputs(vec![input_error(name, format!("not valid base64: {e}"))])
                })?;
            (
                InputBytes::Memory(bytes),
                "application/octet-stream".to_owned(),
                media_type,
            )
        }
        RawInput::Staged { file, media_type } => (
            InputBytes::Staged(file),
            "application/octet-stream".to_owned(),
            media_type,
        ),
        RawInput::Url { url, media_type } => {
            let fetched = fetch::fetch(name, &url, max, config).await?;
            (
                InputBytes::Staged(Arc::new(fetched.data)),
                fetched.media_type,
                media_type,
            )
        }
        RawInput::File { path, media_type } => {
            let staged = files::stage_input_file(name, &path, max, config).await?;
            (
                InputBytes::Staged(Arc::new(staged)),
                files::guess_media_type(&path).to_owned(),
                media_type,
            )
        }
    };
    if data.size() > max as u64 {
        return Err(Problem::new(
            ProblemKind::PayloadTooLarge,
            format!(
                "input `{name}` has {} bytes; the limit is {max}",
                data.size()
            ),
        ));
    }
    if let Some(given) = &media_type
        && !is_media_type(given)
    {
        return Err(invalid_inputs(vec![input_error(
            name,
            format!("`{given}` is not a media type; write it as type/subtype, e.g. text/csv"),
        )]));
    }
    let media_type = media_type.unwrap_or(default_type);
    if !accepts(&spec.media_types, &media_type) {
        return Err(invalid_inputs(vec![input_error(
            name,
            format!(
                "media type `{media_type}` is not accepted; use one of: {}",
                spec.media_types.join(", ")
            ),
        )]));
    }
    Ok(NewInput {
        name: name.to_owned(),
        media_type,
        data,
    })
}

/// The problem for an input that could not be written to its staging file.
fn staging_failed(name: &str) -> impl Fn(std::io::Error) -> Problem + Copy + '_ {
    move |e| {
        Problem::new(
            ProblemKind::Internal,
            format!("could not keep the input `{name}` as it arrived: {e}"),
        )
    }
}

/// The most bytes the input `spec` may have on this server: its own
/// `maxBytes`, within the server's `--max-input-bytes`.
pub fn input_limit(spec: &InputSpec, config: &Config) -> usize {
    spec.max_bytes.map_or(config.limits.max_input_bytes, |m| {
        usize::try_from(m).map_or(config.limits.max_input_bytes, |m| {
            m.min(config.limits.max_input_bytes)
        })
    })
}

/// Whether `media_type` matches one of `accepted` (`type/*` and `*/*` allowed;
/// parameters ignored). An empty list accepts anything.
pub fn accepts(accepted: &[String], media_type: &str) -> bool {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let given = essence(media_type);
    let (given_type, _) = given.split_once('/').unwrap_or((given.as_str(), ""));
    accepted.is_empty()
        || accepted.iter().any(|a| {
            let a = essence(a);
            a == "*/*" || a == given || a.strip_suffix("/*").is_some_and(|t| t == given_type)
        })
}

/// Whether `text` is a media type: `type/subtype` of RFC 6838 token
/// characters, optionally followed by `;` parameters.
pub fn is_media_type(text: &str) -> bool {
    let essence = text.split(';').next().unwrap_or("");
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 127
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    matches!(essence.split_once('/'), Some((t, sub)) if token(t) && token(sub))
}

fn bounded(
    field: &str,
    given: Option<i64>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, Problem> {
    match given {
        None => Ok(default),
        Some(v) if v >= min as i64 && v <= max as i64 => Ok(v as u64),
        Some(v) => Err(Problem::new(
            ProblemKind::InvalidRequest,
            format!("`{field}` is {v}; it must be between {min} and {max}"),
        )),
    }
}

fn input_error(name: &str, message: impl Into<String>) -> Value {
    serde_json::json!({ "input": name, "message": message.into() })
}

/// An `invalid-inputs` problem about one input.
fn invalid_input(name: &str, message: impl Into<String>) -> Problem {
    invalid_inputs(vec![input_error(name, message)])
}

fn invalid_inputs(errors: Vec<Value>) -> Problem {
    let first = errors
        .first()
        .map(|e| {
            format!(
                "input `{}`: {}",
                e["input"].as_str().unwrap_or_default(),
                e["message"].as_str().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    Problem::new(ProblemKind::InvalidInputs, first).with("errors", errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No bundled operation declares `maxBytes`, so the HTTP tests cannot
    /// reach this: an input's own limit (OP-4) applies as well as the server's.
    #[tokio::test]
    async fn an_inputs_declared_max_bytes_is_enforced() {
        let spec = InputSpec {
            name: "data".into(),
            description: String::new(),
            media_types: vec![],
            required: false,
            max_bytes: Some(4),
        };
        let text = |n: usize| RawInput::Text {
            text: "a".repeat(n),
            media_type: None,
        };
        let config = Config::default();
        assert_eq!(
            resolve("data", text(4), &spec, &config)
                .await
                .unwrap()
                .data
                .size(),
            4
        );
        let problem = resolve("data", text(5), &spec, &config).await.unwrap_err();
        assert!(problem.is(ProblemKind::PayloadTooLarge), "{problem}");
    }

    #[test]
    fn media_type_matching() {
        let json = vec!["application/json".to_owned()];
        assert!(accepts(&json, "application/json"));
        assert!(accepts(&json, "Application/JSON; charset=utf-8"));
        assert!(!accepts(&json, "text/plain"));
        assert!(accepts(&[], "anything/at-all"));
        assert!(accepts(&["text/*".to_owned()], "text/csv"));
        assert!(!accepts(&["text/*".to_owned()], "image/png"));
        assert!(accepts(&["*/*".to_owned()], "image/png"));
    }

    #[test]
    fn media_type_syntax() {
        for good in [
            "text/plain",
            "application/vnd.api+json",
            "text/plain; charset=utf-8",
        ] {
            assert!(is_media_type(good), "{good}");
        }
        for bad in [
            "text",
            "text/",
            "/plain",
            "text/plain garbage",
            "te xt/plain",
            "",
        ] {
            assert!(!is_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn bounds() {
        assert_eq!(bounded("t", None, 5, 1, 10).unwrap(), 5);
        assert_eq!(bounded("t", Some(10), 5, 1, 10).unwrap(), 10);
        assert!(bounded("t", Some(0), 5, 1, 10).is_err());
        assert!(bounded("t", Some(-3), 5, 1, 10).is_err());
        assert!(bounded("t", Some(11), 5, 1, 10).is_err());
    }
}
