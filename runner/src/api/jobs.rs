//! `GET /v1/jobs/{id}` (with conditional requests and long polling) and
//! `GET /v1/jobs` (filters and cursor paging).

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::document::{document, job_headers, job_response};
use super::paths::JobId;
use super::seconds::parse_seconds;
use super::urls::BaseUrl;
use crate::jobs::Status;
use crate::problem::{Problem, ProblemKind};
use crate::store::ListQuery;

fn malformed(detail: impl Into<String>) -> Problem {
    Problem::new(ProblemKind::MalformedRequest, detail)
}

/// The entity tags of an `If-None-Match` header (`W/` prefixes dropped).
fn if_none_match(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/").to_owned())
        .filter(|tag| !tag.is_empty())
        .collect()
}

/// Read a job; `?waitSeconds=N` long-polls for a change.
pub async fn get(
    State(state): State<AppState>,
    JobId(id): JobId,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    base: BaseUrl,
) -> Result<Response, Problem> {
    let mut wait = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        // Unknown parameters (such as an SDK's `api-version`) are ignored.
        if key == "waitSeconds" {
            let seconds = parse_seconds(&value).ok_or_else(|| {
                malformed(format!(
                    "`waitSeconds` must be a whole number of seconds, not `{value}`"
                ))
            })?;
            wait = Some(seconds.min(state.config.limits.max_wait_seconds));
        }
    }
    let tags = if_none_match(&headers);
    let matches = |etag: &str| tags.iter().any(|t| t == "*" || t == etag);
    let record = match wait {
        Some(seconds) => {
            state
                .jobs
                .wait("", &id, &tags, Duration::from_secs(seconds))
                .await?
        }
        None => state.jobs.get("", &id).await?,
    };
    if matches(&record.etag()) {
        return Ok((StatusCode::NOT_MODIFIED, job_headers(&record)).into_response());
    }
    Ok(job_response(StatusCode::OK, &record, &base))
}

/// The position after the last job of a page.
fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

fn decode_cursor(cursor: &str) -> Result<String, Problem> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|id| uuid::Uuid::try_parse(id).is_ok())
        .ok_or_else(|| malformed("`cursor` is not a cursor this server issued"))
}

fn timestamp(key: &str, value: &str) -> Result<OffsetDateTime, Problem> {
    OffsetDateTime::parse(value, &Rfc3339).map_err(|_| {
        malformed(format!(
            "`{key}` must be an RFC 3339 time such as 2026-01-31T12:00:00Z"
        ))
    })
}

/// List jobs, newest first.
pub async fn list(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    base: BaseUrl,
) -> Result<Response, Problem> {
    let max = state.config.limits.max_page_size;
    let mut query = ListQuery {
        limit: 50.min(max),
        ..ListQuery::default()
    };
    let raw = raw.unwrap_or_default();
    let mut kept = Vec::new();
    for (key, value) in url::form_urlencoded::parse(raw.as_bytes()) {
        match key.as_ref() {
            "status" => {
                for status in value.split(',').filter(|s| !s.is_empty()) {
                    let status: Status = status.parse().map_err(malformed)?;
                    query.statuses.push(status);
                }
            }
            "operation" => query.operation = Some(value.to_string()),
            "createdAfter" => query.created_after = Some(timestamp(&key, &value)?),
            "createdBefore" => query.created_before = Some(timestamp(&key, &value)?),
            "limit" => {
                query.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| malformed(format!("`limit` must be between 1 and {max}")))?;
            }
            "cursor" => {
                query.before_id = Some(decode_cursor(&value)?);
                continue;
            }
            // Unknown parameters are ignored, and not carried into `next`.
            _ => continue,
        }
        kept.push((key.into_owned(), value.into_owned()));
    }
    let page_size = query.limit;
    query.limit += 1;
    let mut records = state.jobs.list(&query).await?;
    let next = if records.len() > page_size {
        records.truncate(page_size);
        let last = records.last().expect("a full page");
        let mut params = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &kept {
            params.append_pair(k, v);
        }
        params.append_pair("cursor", &encode_cursor(&last.id));
        Some(format!("{}/jobs?{}", base.root(), params.finish()))
    } else {
        None
    };
    let jobs: Vec<_> = records.iter().map(|r| document(r, &base)).collect();
    let mut response = axum::Json(json!({ "jobs": jobs, "next": next })).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(next) = next
        && let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        headers.insert(header::LINK, link);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "0190f0e4-7c4b-7000-8000-000000000000";
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert!(decode_cursor("!!!").is_err());
        assert!(decode_cursor("Zm9v").is_err());
    }

    #[test]
    fn parses_if_none_match_lists() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("W/\"1.2\", \"1.3\""),
        );
        assert_eq!(if_none_match(&headers), ["\"1.2\"", "\"1.3\""]);
    }
}
