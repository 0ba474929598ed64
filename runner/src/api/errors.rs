//! Problems as HTTP answers, and the fallbacks for unknown paths and methods.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::{Problem, ProblemKind};

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = matches!(
            self.kind,
            ProblemKind::QueueFull | ProblemKind::IdempotencyKeyInUse
        );
        let body = serde_json::to_vec(&self).expect("problems serialize");
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if retry {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        // Kept for `fill_in_problems`, which adds `instance`.
        response.extensions_mut().insert(self);
        response
    }
}

/// Any path the runner does not serve.
pub async fn not_found(uri: Uri) -> Problem {
    Problem::new(
        ProblemKind::NotFound,
        format!("there is nothing at {}", uri.path()),
    )
}

/// A served path with a method it does not take. Axum adds the `Allow` header.
pub async fn method_not_allowed(method: axum::http::Method, uri: Uri) -> Problem {
    Problem::new(
        ProblemKind::MethodNotAllowed,
        format!("{} does not take {method}", uri.path()),
    )
}

/// Make every error answer a complete problem document: a [`Problem`] without an
/// `instance` gets the request's path, and an error the framework produced
/// outside the handlers (a body it could not read, say) becomes the problem of
/// its status.
pub async fn fill_in_problems(request: Request, next: Next) -> Response {
    // Cheap: a Uri shares its bytes.
    let uri = request.uri().clone();
    let response = next.run(request).await;
    let problem = match response.extensions().get::<Problem>() {
        Some(problem) if problem.instance.is_some() => return response,
        Some(problem) => problem.clone(),
        None if response.status().is_client_error() || response.status().is_server_error() => {
            framework_problem(response.status())
        }
        None => return response,
    };
    let (mut parts, _) = response.into_parts();
    let problem = problem.at(uri.path());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    let body = serde_json::to_vec(&problem).expect("problems serialize");
    parts.extensions.insert(problem);
    Response::from_parts(parts, Body::from(body))
}

/// The problem for an error status the framework answered by itself.
fn framework_problem(status: StatusCode) -> Problem {
    let kind = match status {
        StatusCode::NOT_FOUND => ProblemKind::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ProblemKind::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ProblemKind::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemKind::UnsupportedMediaType,
        s if s.is_client_error() => ProblemKind::MalformedRequest,
        _ => ProblemKind::Internal,
    };
    Problem::new(kind, format!("the request failed with status {status}"))
}
