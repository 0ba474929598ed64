//! `GET`/`HEAD /v1/jobs/{id}/result` (with single byte ranges, RFC 9110 §14) and
//! `GET /v1/jobs/{id}/log`.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use std::path::Path;

use super::AppState;
use super::paths::JobId;
use crate::jobs::JobRecord;
use crate::problem::{Problem, ProblemKind};

/// What to send of a result of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// All of it (no range, or a range the server ignores).
    Full,
    /// The bytes `start..=end`.
    Part { start: u64, end: u64 },
    /// A valid range that selects no byte.
    Unsatisfiable,
}

/// Decide what a request selects. Only `GET` honours `Range`; a `Range` with
/// another unit, bad syntax or several ranges is ignored (the whole result is
/// sent), as is one whose `If-Range` does not match `etag`.
pub fn select(method: &Method, headers: &HeaderMap, etag: &str, len: u64) -> Selection {
    if method != Method::GET {
        return Selection::Full;
    }
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Selection::Full;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.to_str().ok().map(str::trim) != Some(etag)
    {
        return Selection::Full;
    }
    let Some((unit, spec)) = range.split_once('=') else {
        return Selection::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || spec.contains(',') {
        return Selection::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Selection::Full;
    };
    let number = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    match (first, last) {
        ("", suffix) => match number(suffix) {
            None => Selection::Full,
            Some(0) => Selection::Unsatisfiable,
            Some(_) if len == 0 => Selection::Unsatisfiable,
            Some(n) => Selection::Part {
                start: len.saturating_sub(n),
                end: len - 1,
            },
        },
        (first, "") => match number(first) {
            None => Selection::Full,
            Some(start) if start >= len => Selection::Unsatisfiable,
            Some(start) => Selection::Part {
                start,
                end: len - 1,
            },
        },
        (first, last) => match (number(first), number(last)) {
            (Some(start), Some(end)) if start <= end => {
                if start >= len {
                    Selection::Unsatisfiable
                } else {
                    Selection::Part {
                        start,
                        end: end.min(len - 1),
                    }
                }
            }
            _ => Selection::Full,
        },
    }
}

/// The result bytes of a succeeded job.
pub async fn result(
    State(state): State<AppState>,
    JobId(id): JobId,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (record, path) = state.jobs.result("", &id).await?;
    serve(&state, record, &path, &method, &headers).await
}

/// Answer with the result of the succeeded job `record`, kept at `path`: the
/// whole of it or the range `headers` select, streamed from disk. Serving it
/// counts as a use of the job.
pub async fn serve(
    state: &AppState,
    mut record: JobRecord,
    path: &Path,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, Problem> {
    let meta = record.result.clone().expect("a succeeded job has a result");
    let etag = format!("\"{}\"", meta.sha256);
    let (status, start, len) = match select(method, headers, &etag, meta.size) {
        Selection::Unsatisfiable => {
            let mut problem = Problem::new(
                ProblemKind::RangeNotSatisfiable,
                format!(
                    "the result has {} bytes; the requested range selects none of them",
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
        Selection::Full => (StatusCode::OK, 0, meta.size),
        Selection::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
    };

    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        let unreadable = |e: std::io::Error| {
            Problem::new(
                ProblemKind::Internal,
                format!("the result of job {} could not be read: {e}", record.id),
            )
        };
        let mut file = tokio::fs::File::open(path).await.map_err(unreadable)?;
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(unreadable)?;
        Body::from_stream(ReaderStream::new(file.take(len)))
    };
    state.jobs.touch(&mut record).await?;

    let mut response = (status, body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&meta.media_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, etag);
    }
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::PARTIAL_CONTENT {
        let range = format!("bytes {}-{}/{}", start, start + len - 1, meta.size);
        out.insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&range).expect("ascii"),
        );
    }
    Ok(response)
}

/// The job's log, as text.
pub async fn log(State(state): State<AppState>, JobId(id): JobId) -> Result<Response, Problem> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(range: &str, len: u64) -> Selection {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(range).unwrap());
        select(&Method::GET, &headers, "\"e\"", len)
    }

    #[test]
    fn single_ranges() {
        use Selection::*;
        assert_eq!(pick("bytes=0-9", 100), Part { start: 0, end: 9 });
        assert_eq!(pick("bytes=90-", 100), Part { start: 90, end: 99 });
        assert_eq!(pick("bytes=95-200", 100), Part { start: 95, end: 99 });
        assert_eq!(pick("bytes=-10", 100), Part { start: 90, end: 99 });
        assert_eq!(pick("bytes=-2000", 1000), Part { start: 0, end: 999 });
        assert_eq!(pick("bytes=100-", 100), Unsatisfiable);
        assert_eq!(pick("bytes=0-", 0), Unsatisfiable);
        assert_eq!(pick("bytes=-0", 10), Unsatisfiable);
    }

    #[test]
    fn ignored_ranges() {
        use Selection::*;
        for range in [
            "chars=0-5",
            "bytes=abc",
            "bytes=5-2",
            "bytes=0-1,5-6",
            "bytes=",
            "bytes=+1-2",
        ] {
            assert_eq!(pick(range, 100), Full, "{range}");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_static("bytes=0-1"));
        assert_eq!(select(&Method::HEAD, &headers, "\"e\"", 10), Full);
        headers.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(select(&Method::GET, &headers, "\"e\"", 10), Full);
        headers.insert(header::IF_RANGE, HeaderValue::from_static("\"e\""));
        assert_eq!(
            select(&Method::GET, &headers, "\"e\"", 10),
            Part { start: 0, end: 1 }
        );
    }
}
