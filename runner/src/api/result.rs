//! `GET`/`HEAD /v1/jobs/{id}/result` (with `Range`) and `GET /v1/jobs/{id}/log`.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::AppState;
use crate::problem::{Problem, ProblemKind};

/// The result bytes of a succeeded job.
pub async fn result(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Result<Response, Problem> {
    let (record, path) = state.jobs.result("", &id).await?;
    let meta = record.result.expect("a succeeded job has a result");
    let mime: mime::Mime = meta
        .media_type
        .parse()
        .unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let served = ServeFile::new_with_mime(path, &mime)
        .oneshot(request)
        .await
        .map_err(|e| {
            Problem::new(
                ProblemKind::Internal,
                format!("the result could not be read: {e}"),
            )
        })?;
    let status = served.status();
    if status == StatusCode::RANGE_NOT_SATISFIABLE {
        let mut problem = Problem::new(
            ProblemKind::RangeNotSatisfiable,
            format!(
                "the result has {} bytes; the requested range is outside them",
                meta.size
            ),
        )
        .into_response();
        problem.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!("bytes */{}", meta.size)).expect("ascii"),
        );
        return Ok(problem);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(Problem::new(
            ProblemKind::Internal,
            format!("the result file of job {id} is missing"),
        ));
    }
    let mut response = served.map(axum::body::Body::new);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", meta.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    headers.remove(header::LAST_MODIFIED);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The job's log, as text.
pub async fn log(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let log = state.jobs.log("", &id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        log,
    )
        .into_response())
}
