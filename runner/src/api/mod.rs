//! The HTTP API, `/v1`, as `spec/protocol.md` and `spec/openapi.yaml` describe it.
//!
//! One module per resource: the service document ([`service`]), operations
//! ([`operations`]), starting jobs ([`start`]), reading and listing them
//! ([`jobs`]), their event streams ([`events`]), cancel and delete ([`control`]),
//! and their results and logs ([`result`]). Every error is a problem document
//! ([`errors`]).

pub mod control;
pub mod document;
pub mod errors;
pub mod events;
pub mod jobs;
pub mod operations;
pub mod paths;
pub mod result;
pub mod seconds;
pub mod service;
pub mod start;
pub mod urls;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::config::Config;
use crate::jobs::Jobs;
use crate::operations::Operations;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The job engine.
    pub jobs: Jobs,
    /// The operations on offer.
    pub operations: Arc<Operations>,
    /// The settings.
    pub config: Arc<Config>,
    /// The address the server listens on, for URLs when a request has no Host.
    pub local_addr: SocketAddr,
}

/// Every route the runner serves, as (method, path) pairs in OpenAPI form; a test
/// checks this list against `spec/openapi.yaml` and the router.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/v1"),
    ("get", "/v1/operations"),
    ("get", "/v1/operations/{op}"),
    ("post", "/v1/operations/{op}/jobs"),
    ("get", "/v1/jobs"),
    ("get", "/v1/jobs/{id}"),
    ("delete", "/v1/jobs/{id}"),
    ("get", "/v1/jobs/{id}/events"),
    ("post", "/v1/jobs/{id}/cancel"),
    ("get", "/v1/jobs/{id}/result"),
    ("head", "/v1/jobs/{id}/result"),
    ("get", "/v1/jobs/{id}/log"),
];

/// The router of the whole API.
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.limits.max_body_bytes;
    Router::new()
        .route("/v1", get(service::service_document))
        .route("/v1/operations", get(operations::list))
        .route("/v1/operations/{op}", get(operations::one))
        .route("/v1/operations/{op}/jobs", post(start::start))
        .route("/v1/jobs", get(jobs::list))
        .route("/v1/jobs/{id}", get(jobs::get).delete(control::delete))
        .route("/v1/jobs/{id}/events", get(events::events))
        .route("/v1/jobs/{id}/cancel", post(control::cancel))
        // `get` also answers HEAD, without a body.
        .route("/v1/jobs/{id}/result", get(result::result))
        .route("/v1/jobs/{id}/log", get(result::log))
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn(errors::fill_in_problems))
        // Job failures answered in synchronous mode are 5xx too: not the server's.
        .layer(TraceLayer::new_for_http().on_failure(DefaultOnFailure::new().level(Level::DEBUG)))
        .with_state(state)
}
