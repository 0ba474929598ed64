//! The job document: how a [`JobRecord`] looks on the wire, and the headers
//! that go with it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::urls::BaseUrl;
use crate::clock::rfc3339;
use crate::jobs::{JobRecord, Status};

/// The job document of `record`.
pub fn document(record: &JobRecord, base: &BaseUrl) -> Value {
    let url = base.job(&record.id);
    let time = |t: Option<time::OffsetDateTime>| t.map(rfc3339).map_or(Value::Null, Value::String);
    let mut links = Map::new();
    links.insert("self".into(), json!(url));
    if record.status.is_active() {
        links.insert("monitor".into(), json!(url));
        links.insert("cancel".into(), json!(format!("{url}/cancel")));
    }
    if record.status == Status::Succeeded {
        links.insert("result".into(), json!(format!("{url}/result")));
    }
    links.insert("events".into(), json!(format!("{url}/events")));
    links.insert("log".into(), json!(format!("{url}/log")));

    let mut doc = json!({
        "id": record.id,
        "operation": record.operation,
        "operationVersion": record.operation_version,
        "pluginSha256": record.plugin_sha256,
        "status": record.status,
        "attempt": record.attempt,
        "createdAt": rfc3339(record.created_at),
        "startedAt": time(record.started_at),
        "finishedAt": time(record.finished_at),
        "updatedAt": rfc3339(record.updated_at),
        "expiresAt": time(record.expires_at),
        "ttlSeconds": record.ttl_seconds,
        "timeoutSeconds": record.timeout_seconds,
        "progress": record.progress,
        "correlationId": record.correlation_id,
        "links": links,
    });
    if let (Status::Succeeded, Some(result)) = (record.status, &record.result) {
        let href = format!("{url}/result");
        doc["result"] = json!({
            "href": href,
            "mediaType": result.media_type,
            "size": result.size,
            "sha256": result.sha256,
        });
        doc["resourceLocation"] = json!(href);
    }
    if let (Status::Failed, Some(error)) = (record.status, &record.error) {
        doc["error"] = json!(error);
    }
    if let Some(callback) = &record.callback {
        // Never the secret.
        doc["callback"] = json!({
            "url": callback.url,
            "method": callback.method,
            "state": callback.state,
            "attempts": callback.attempts,
            "maxAttempts": callback.retry.max_attempts,
            "lastStatusCode": callback.last_status_code,
            "lastError": callback.last_error,
            "nextAttemptAt": time(callback.next_attempt_at),
        });
    }
    doc
}

/// The headers every job answer carries: `ETag`, `Cache-Control`, and
/// `Retry-After` while the job is active.
pub fn job_headers(record: &JobRecord) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(etag) = HeaderValue::from_str(&record.etag()) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if record.status.is_active() {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    headers
}

/// The `Location`, `Operation-Location` and `Link` headers of a job.
pub fn location_headers(record: &JobRecord, base: &BaseUrl) -> HeaderMap {
    let url = base.job(&record.id);
    let mut headers = HeaderMap::new();
    headers.insert(header::LOCATION, BaseUrl::header(&url));
    headers.insert("operation-location", BaseUrl::header(&url));
    let link = format!(
        "<{url}>; rel=\"monitor\", <{url}/cancel>; rel=\"cancel\", <{url}/result>; rel=\"result\""
    );
    headers.insert(header::LINK, BaseUrl::header(&link));
    headers
}

/// A `status` answer with the job document and its headers.
pub fn job_response(status: StatusCode, record: &JobRecord, base: &BaseUrl) -> Response {
    (
        status,
        job_headers(record),
        axum::Json(document(record, base)),
    )
        .into_response()
}
