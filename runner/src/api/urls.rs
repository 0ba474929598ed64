//! Absolute URLs: built from the configured public base URL, else from the
//! request's `Host`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use super::AppState;

/// The base URL of this request, like `http://127.0.0.1:8080` (no trailing slash).
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl BaseUrl {
    /// The service document's URL.
    pub fn root(&self) -> String {
        format!("{}/v1", self.0)
    }

    /// The URL of job `id`.
    pub fn job(&self, id: &str) -> String {
        format!("{}/v1/jobs/{id}", self.0)
    }

    /// The URL of operation `name`.
    pub fn operation(&self, name: &str) -> String {
        format!("{}/v1/operations/{name}", self.0)
    }

    /// A header value holding `url`.
    pub fn header(url: &str) -> HeaderValue {
        HeaderValue::from_str(url).unwrap_or_else(|_| HeaderValue::from_static("/"))
    }
}

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(public) = &state.config.public_url {
            return Ok(BaseUrl(public.trim_end_matches('/').to_owned()));
        }
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| is_plausible_host(h))
            .map(str::to_owned)
            .unwrap_or_else(|| state.local_addr.to_string());
        Ok(BaseUrl(format!("http://{host}")))
    }
}

/// A Host header value worth echoing into URLs: a host and optional port, no
/// paths, spaces or other surprises.
fn is_plausible_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}
