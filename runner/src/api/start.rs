//! `POST /v1/operations/{op}/jobs`: start a job, asynchronously (`202`) or, with
//! `Prefer: wait=N`, synchronously when it finishes in time.

use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::AppState;
use super::document::{job_response, location_headers};
use super::operations::unknown_operation;
use super::paths::OperationName;
use super::seconds::parse_seconds;
use super::urls::BaseUrl;
use crate::intake;
use crate::jobs::{JobRecord, Status};
use crate::problem::{Problem, ProblemKind};

/// What the client prefers (RFC 7240).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Preference {
    /// `wait=N`: seconds to wait for the job to finish.
    pub wait: Option<u64>,
    /// `respond-async`: always answer `202`.
    pub respond_async: bool,
}

/// Parse every `Prefer` header. Unknown preferences are ignored, as RFC 7240
/// asks; a `wait` that is not a non-negative integer is a `400`.
pub fn parse_prefer(headers: &HeaderMap) -> Result<Preference, Problem> {
    let mut preference = Preference::default();
    for value in headers.get_all("prefer") {
        let text = value
            .to_str()
            .map_err(|_| malformed("the Prefer header is not visible ASCII"))?;
        for item in text.split(',') {
            let token = item.split(';').next().unwrap_or("").trim();
            let (name, value) = match token.split_once('=') {
                Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
                None => (token, None),
            };
            if name.eq_ignore_ascii_case("respond-async") {
                preference.respond_async = true;
            } else if name.eq_ignore_ascii_case("wait") && preference.wait.is_none() {
                // RFC 7240: the first occurrence of a preference wins; later
                // ones are not read at all.
                let seconds = value.and_then(parse_seconds).ok_or_else(|| {
                    malformed(format!(
                        "`Prefer: {token}` is not valid: wait takes whole seconds, e.g. wait=10"
                    ))
                })?;
                preference.wait = Some(seconds);
            }
        }
    }
    Ok(preference)
}

/// The `Idempotency-Key` header, checked: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| (0x21..=0x7e).contains(&b))
        })
        .ok_or_else(|| {
            malformed("the Idempotency-Key header must be 1 to 255 visible ASCII characters")
        })?;
    Ok(Some(key.to_owned()))
}

fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::MalformedRequest, detail)
}

/// Start a job.
pub async fn start(
    State(state): State<AppState>,
    OperationName(op): OperationName,
    base: BaseUrl,
    request: Request,
) -> Result<Response, Problem> {
    let operation = state
        .operations
        .get(&op)
        .ok_or_else(|| unknown_operation(&op))?;
    let headers = request.headers().clone();
    let preference = parse_prefer(&headers)?;
    let key = idempotency_key(&headers)?;

    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let raw = match essence.as_str() {
        "application/json" => {
            let body = read_body(request, state.config.limits.max_body_bytes).await?;
            intake::parse_json(&body)?
        }
        "multipart/form-data" => {
            let form = Multipart::from_request(request, &state)
                .await
                .map_err(|e| {
                    malformed(format!(
                        "the multipart body is malformed: {}",
                        e.body_text()
                    ))
                })?;
            let inputs: Vec<(String, usize)> = operation
                .plugin
                .description()
                .inputs
                .iter()
                .map(|spec| (spec.name.clone(), intake::input_limit(spec, &state.config)))
                .collect();
            intake::parse_multipart(form, &inputs, &state.config.data_dir).await?
        }
        _ => {
            return Err(Problem::new(
                ProblemKind::UnsupportedMediaType,
                format!(
                    "a start request must be application/json or multipart/form-data, not `{}`",
                    if content_type.is_empty() {
                        "(none)"
                    } else {
                        content_type
                    }
                ),
            ));
        }
    };

    let _reservation = key
        .as_deref()
        .map(|key| state.jobs.reserve_key("", key))
        .transpose()?;
    let job = intake::prepare(raw, &operation, &state.config, "", key).await?;
    let submitted = state.jobs.submit(job).await?;
    let record = submitted.record;

    let wait = preference
        .wait
        .filter(|_| !preference.respond_async)
        .map(|w| w.min(state.config.limits.max_wait_seconds));
    let mut response = match wait {
        None => accepted(&record, &base, None),
        Some(wait) => synchronous(&state, &record, &base, wait).await?,
    };
    if submitted.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Wait up to `wait` seconds for the job, then answer with its result, its
/// failure, or the normal `202`.
async fn synchronous(
    state: &AppState,
    record: &JobRecord,
    base: &BaseUrl,
    wait: u64,
) -> Result<Response, Problem> {
    let record = state
        .jobs
        .wait(&record.tenant, &record.id, &[], Duration::from_secs(wait))
        .await?;
    Ok(match record.status {
        Status::Succeeded => synchronous_result(state, &record, base, wait).await?,
        Status::Failed => {
            let problem = record.error.clone().unwrap_or_else(|| {
                Problem::new(ProblemKind::RunnerError, "the job failed without an error")
            });
            with_headers(problem.into_response(), &record, base, wait)
        }
        Status::Canceled => {
            let problem = Problem::new(
                ProblemKind::JobCanceled,
                format!("job {} was canceled while the request waited", record.id),
            );
            with_headers(problem.into_response(), &record, base, wait)
        }
        Status::Queued | Status::Running => accepted(&record, base, Some(wait)),
    })
}

/// Read a body of at most `limit` bytes: `413` past it.
async fn read_body(request: Request, limit: usize) -> Result<bytes::Bytes, Problem> {
    if let Some(length) = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && length > limit as u64
    {
        return Err(too_large(limit));
    }
    let body = http_body_util::Limited::new(request.into_body(), limit);
    match body.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(too_large(limit))
        }
        Err(e) => Err(malformed(format!("the body could not be read: {e}"))),
    }
}

fn too_large(limit: usize) -> Problem {
    Problem::new(
        ProblemKind::PayloadTooLarge,
        format!("the body is larger than the limit of {limit} bytes"),
    )
}

/// The `202 Accepted` answer.
fn accepted(record: &JobRecord, base: &BaseUrl, wait: Option<u64>) -> Response {
    let mut response = job_response(StatusCode::ACCEPTED, record, base);
    response
        .headers_mut()
        .extend(location_headers(record, base));
    if let Some(wait) = wait {
        insert_preference_applied(response.headers_mut(), wait);
    }
    response
}

fn with_headers(mut response: Response, record: &JobRecord, base: &BaseUrl, wait: u64) -> Response {
    response
        .headers_mut()
        .extend(location_headers(record, base));
    insert_preference_applied(response.headers_mut(), wait);
    response
}

fn insert_preference_applied(headers: &mut HeaderMap, wait: u64) {
    if let Ok(value) = HeaderValue::from_str(&format!("wait={wait}")) {
        headers.insert("preference-applied", value);
    }
}

/// The `200` answer of synchronous mode: the result bytes themselves.
async fn synchronous_result(
    state: &AppState,
    record: &JobRecord,
    base: &BaseUrl,
    wait: u64,
) -> Result<Response, Problem> {
    let (record, path) = state.jobs.result(&record.tenant, &record.id).await?;
    let response = super::result::serve(
        state,
        record.clone(),
        &path,
        &Method::GET,
        &HeaderMap::new(),
    )
    .await?;
    Ok(with_headers(response, &record, base, wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefer(values: &[&str]) -> Result<Preference, Problem> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("prefer", HeaderValue::from_str(v).unwrap());
        }
        parse_prefer(&headers)
    }

    #[test]
    fn parses_prefer() {
        assert_eq!(prefer(&[]).unwrap(), Preference::default());
        assert_eq!(prefer(&["wait=5"]).unwrap().wait, Some(5));
        assert_eq!(prefer(&["handling=lenient, wait=7"]).unwrap().wait, Some(7));
        assert_eq!(prefer(&["wait=2, wait=9"]).unwrap().wait, Some(2));
        assert!(prefer(&["respond-async"]).unwrap().respond_async);
        let both = prefer(&["respond-async", "wait=3"]).unwrap();
        assert!(both.respond_async && both.wait == Some(3));
        assert!(prefer(&["wait=soon"]).is_err());
        assert!(prefer(&["wait=-1"]).is_err());
        assert!(prefer(&["foo=bar"]).unwrap() == Preference::default());
    }

    #[test]
    fn checks_idempotency_keys() {
        let key = |v: &str| {
            let mut headers = HeaderMap::new();
            headers.insert("idempotency-key", HeaderValue::from_str(v).unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(key("abc-123").unwrap().as_deref(), Some("abc-123"));
        assert!(key("").is_err());
        assert!(key("has space").is_err());
        assert!(key(&"x".repeat(256)).is_err());
    }
}
