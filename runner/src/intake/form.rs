//! The multipart/form-data form of a start request: a part named after a
//! declared input is that input's bytes; the other fields are form fields.

use std::path::Path;
use std::sync::Arc;

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use serde_json::Value;

use super::request::{RawInput, RawStart, malformed, parse_output};
use crate::problem::{Problem, ProblemKind};
use crate::store::{StagedInput, StagingFile};

/// Parse a multipart start request for an operation whose inputs are
/// `inputs` (each name with its size limit). Input parts are streamed into
/// the staging directory under `data_dir` ([`StagingFile`]).
pub async fn parse_multipart(
    mut form: Multipart,
    inputs: &[(String, usize)],
    data_dir: &Path,
) -> Result<RawStart, Problem> {
    let mut start = RawStart::default();
    let mut seen = std::collections::HashSet::new();
    while let Some(mut field) = form.next_field().await.map_err(form_error)? {
        let name = field
            .name()
            .ok_or_else(|| malformed("every multipart part needs a name"))?
            .to_owned();
        if !seen.insert(name.clone()) {
            return Err(malformed(format!(
                "the part `{name}` appears more than once"
            )));
        }
        if let Some((_, max_bytes)) = inputs.iter().find(|(input, _)| *input == name) {
            let media_type = field.content_type().map(str::to_owned);
            let staged = stage(&mut field, &name, *max_bytes, data_dir).await?;
            start.inputs.push((
                name,
                RawInput::Staged {
                    file: Arc::new(staged),
                    media_type,
                },
            ));
            continue;
        }
        let text = field.text().await.map_err(form_error)?;
        match name.as_str() {
            "params" => start.params = Some(json_field(&name, &text)?),
            "output" => start.output_file = Some(parse_output(json_field(&name, &text)?)?),
            "callback" => start.callback = Some(json_field(&name, &text)?),
            "ttlSeconds" => start.ttl_seconds = Some(integer_field(&name, &text)?),
            "timeoutSeconds" => start.timeout_seconds = Some(integer_field(&name, &text)?),
            "correlationId" => start.correlation_id = Some(text),
            other => {
                return Err(malformed(format!(
                    "unknown part `{other}`: parts are the operation's inputs ({}) or the fields params, output, ttlSeconds, timeoutSeconds, correlationId",
                    inputs
                        .iter()
                        .map(|(name, _)| name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    Ok(start)
}

fn json_field(name: &str, text: &str) -> Result<Value, Problem> {
    serde_json::from_str(text)
        .map_err(|e| malformed(format!("the part `{name}` must be JSON: {e}")))
}

fn integer_field(name: &str, text: &str) -> Result<i64, Problem> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed(format!("`{name}` must be an integer")));
    }
    // Decimal integer text; one beyond 64 bits is out of bounds (422 from the
    // bounds check), not malformed.
    Ok(text.parse::<i64>().unwrap_or(if text.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// Streams the part `field`, the input `name`, into a staging file under
/// `data_dir`; 413 as soon as it passes `max_bytes`.
async fn stage(
    field: &mut Field<'_>,
    name: &str,
    max_bytes: usize,
    data_dir: &Path,
) -> Result<StagedInput, Problem> {
    let failed = super::staging_failed(name);
    let mut file = StagingFile::create(data_dir).await.map_err(failed)?;
    while let Some(chunk) = field.chunk().await.map_err(form_error)? {
        if file.size() + chunk.len() as u64 > max_bytes as u64 {
            return Err(Problem::new(
                ProblemKind::PayloadTooLarge,
                format!("input `{name}` has more than {max_bytes} bytes, its limit"),
            ));
        }
        file.write(&chunk).await.map_err(failed)?;
    }
    file.finish().await.map_err(failed)
}

fn form_error(e: MultipartError) -> Problem {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("the form is too large: {}", e.body_text()),
        )
    } else {
        malformed(format!(
            "the multipart body is malformed: {}",
            e.body_text()
        ))
    }
}
