//! `GET /v1`: the service document.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::urls::BaseUrl;

/// The protocol version this runner speaks.
pub const PROTOCOL_VERSION: &str = "1.0";

/// The conformance classes this runner claims.
pub const CONFORMANCE_CLASSES: &[&str] = &[
    "core",
    "sync",
    "cancel",
    "delete",
    "expiry",
    "idempotency",
    "list",
    "events",
    "long-poll",
    "multipart",
    "result-range",
    "log",
    "callbacks",
];

/// The service document: who this is, what it claims and its limits.
pub async fn service_document(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    let limits = &state.config.limits;
    let config = &state.config;
    Json(json!({
        "name": "longrun",
        "version": env!("CARGO_PKG_VERSION"),
        "protocolVersion": PROTOCOL_VERSION,
        "conformanceClasses": CONFORMANCE_CLASSES,
        "limits": {
            "defaultTtlSeconds": limits.default_ttl_seconds,
            "minTtlSeconds": limits.min_ttl_seconds,
            "maxTtlSeconds": limits.max_ttl_seconds,
            "maxWaitSeconds": limits.max_wait_seconds,
            "defaultTimeoutSeconds": limits.default_timeout_seconds,
            "maxTimeoutSeconds": limits.max_timeout_seconds,
            "maxBodyBytes": limits.max_body_bytes,
            "maxInputBytes": limits.max_input_bytes,
            "maxLogBytes": config.max_log_bytes,
            "queueSize": config.queue_size,
            "workers": config.workers,
            "maxAttempts": config.max_attempts,
            "maxPageSize": limits.max_page_size,
            "memoryLimitBytes": config.memory_limit_bytes,
            "callbacks": {
                "maxAttempts": config.callbacks.max_attempts,
                "defaultMaxAttempts": config.callbacks.default_max_attempts,
                "minIntervalSeconds": config.callbacks.min_interval_seconds,
                "maxIntervalSeconds": config.callbacks.max_interval_seconds,
                "defaultIntervalSeconds": config.callbacks.default_interval_seconds,
                "timeoutSeconds": config.callbacks.timeout.as_secs(),
            },
        },
        "urlGuard": {
            "privateNetworksAllowed": config.allow_private_networks,
        },
        "links": {
            "self": base.root(),
            "operations": format!("{}/operations", base.root()),
            "jobs": format!("{}/jobs", base.root()),
        },
    }))
}
