//! Problem documents (RFC 9457): how longrun reports every error.
//!
//! A [`Problem`] is both the body of every 4xx/5xx answer and the `error` of a
//! failed job. Each kind of problem has a stable type URI,
//! `urn:longrun:problem:<kind>`, listed in [`ProblemKind`] and in `spec/protocol.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Every kind of problem longrun reports, with its HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// 400: the request could not be parsed or has a wrong field.
    MalformedRequest,
    /// 404: no such path.
    NotFound,
    /// 404: no such operation.
    OperationNotFound,
    /// 404: no such job (never existed, deleted, expired, or another tenant's).
    JobNotFound,
    /// 405: the path exists but not with this method.
    MethodNotAllowed,
    /// 409: cancel of a job that already succeeded or failed.
    JobFinished,
    /// 409: the result of a job that is active or did not succeed.
    ResultNotAvailable,
    /// 409: a repeat of a request whose `Idempotency-Key` is still being accepted.
    IdempotencyKeyInUse,
    /// 413: the body or an input is too large.
    PayloadTooLarge,
    /// 415: the body's media type is not accepted.
    UnsupportedMediaType,
    /// 416: the requested byte range cannot be served.
    RangeNotSatisfiable,
    /// 422: `params` fail the operation's JSON Schema.
    InvalidParams,
    /// 422: inputs are missing, unknown, of the wrong type or unreadable.
    InvalidInputs,
    /// 422: another field of the request is out of bounds.
    InvalidRequest,
    /// 422: an outbound URL is refused by the guard.
    UrlNotAllowed,
    /// 422: an `Idempotency-Key` was reused for a different request.
    IdempotencyKeyReused,
    /// 503: the queue is full.
    QueueFull,
    /// 500: something went wrong inside the runner.
    Internal,
    /// Job failure: the plugin returned an error.
    PluginError,
    /// Job failure: the plugin trapped.
    PluginTrap,
    /// Job failure: the plugin went past its memory cap.
    MemoryLimitExceeded,
    /// Job failure: the run went past its deadline.
    DeadlineExceeded,
    /// Job failure: the runner died during too many attempts.
    AttemptsExhausted,
    /// Job failure: the runner could not complete the job.
    RunnerError,
    /// Synchronous mode: the job was canceled while the request waited.
    JobCanceled,
}

impl ProblemKind {
    /// The `<kind>` part of the type URI.
    pub fn slug(self) -> &'static str {
        use ProblemKind::*;
        match self {
            MalformedRequest => "malformed-request",
            NotFound => "not-found",
            OperationNotFound => "operation-not-found",
            JobNotFound => "job-not-found",
            MethodNotAllowed => "method-not-allowed",
            JobFinished => "job-finished",
            ResultNotAvailable => "result-not-available",
            IdempotencyKeyInUse => "idempotency-key-in-use",
            PayloadTooLarge => "payload-too-large",
            UnsupportedMediaType => "unsupported-media-type",
            RangeNotSatisfiable => "range-not-satisfiable",
            InvalidParams => "invalid-params",
            InvalidInputs => "invalid-inputs",
            InvalidRequest => "invalid-request",
            UrlNotAllowed => "url-not-allowed",
            IdempotencyKeyReused => "idempotency-key-reused",
            QueueFull => "queue-full",
            Internal => "internal",
            PluginError => "plugin-error",
            PluginTrap => "plugin-trap",
            MemoryLimitExceeded => "memory-limit-exceeded",
            DeadlineExceeded => "deadline-exceeded",
            AttemptsExhausted => "attempts-exhausted",
            RunnerError => "runner-error",
            JobCanceled => "job-canceled",
        }
    }

    /// The HTTP status of this kind of problem.
    pub fn status(self) -> u16 {
        use ProblemKind::*;
        match self {
            MalformedRequest => 400,
            NotFound | OperationNotFound | JobNotFound => 404,
            MethodNotAllowed => 405,
            JobFinished | ResultNotAvailable | IdempotencyKeyInUse | JobCanceled => 409,
            PayloadTooLarge => 413,
            UnsupportedMediaType => 415,
            RangeNotSatisfiable => 416,
            InvalidParams | InvalidInputs | InvalidRequest | UrlNotAllowed
            | IdempotencyKeyReused | PluginError => 422,
            QueueFull => 503,
            DeadlineExceeded => 504,
            Internal | PluginTrap | MemoryLimitExceeded | AttemptsExhausted | RunnerError => 500,
        }
    }

    /// A short, fixed summary of this kind of problem.
    pub fn title(self) -> &'static str {
        use ProblemKind::*;
        match self {
            MalformedRequest => "The request is malformed",
            NotFound => "No such resource",
            OperationNotFound => "No such operation",
            JobNotFound => "No such job",
            MethodNotAllowed => "Method not allowed",
            JobFinished => "The job has already finished",
            ResultNotAvailable => "The job has no result",
            IdempotencyKeyInUse => "A request with this Idempotency-Key is still being accepted",
            PayloadTooLarge => "The request is too large",
            UnsupportedMediaType => "Unsupported media type",
            RangeNotSatisfiable => "The range cannot be satisfied",
            InvalidParams => "The params are invalid",
            InvalidInputs => "The inputs are invalid",
            InvalidRequest => "The request is invalid",
            UrlNotAllowed => "The URL is not allowed",
            IdempotencyKeyReused => "The Idempotency-Key was used for a different request",
            QueueFull => "The queue is full",
            Internal => "Internal error",
            PluginError => "The operation failed",
            PluginTrap => "The plugin crashed",
            MemoryLimitExceeded => "The plugin exceeded its memory limit",
            DeadlineExceeded => "The job ran past its deadline",
            AttemptsExhausted => "The job was interrupted too many times",
            RunnerError => "The runner could not complete the job",
            JobCanceled => "The job was canceled",
        }
    }

    /// The type URI, `urn:longrun:problem:<kind>`.
    pub fn type_uri(self) -> String {
        format!("urn:longrun:problem:{}", self.slug())
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// The type URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request path the problem is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Members particular to the kind (`errors`, `code`, `jobStatus`, …).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Problem {
    /// A problem of `kind` with a detail message.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            type_uri: kind.type_uri(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: Some(detail.into()),
            instance: None,
            extensions: Map::new(),
        }
    }

    /// Add an extension member.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.to_owned(), value.into());
        self
    }

    /// Set the `instance` member.
    pub fn at(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Whether this problem is of `kind`.
    pub fn is(&self, kind: ProblemKind) -> bool {
        self.type_uri == kind.type_uri()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.title),
            None => f.write_str(&self.title),
        }
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_rfc9457() {
        let p = Problem::new(ProblemKind::InvalidParams, "steps must be positive")
            .with("errors", serde_json::json!([{"pointer": "/steps"}]));
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["type"], "urn:longrun:problem:invalid-params");
        assert_eq!(v["status"], 422);
        assert_eq!(v["errors"][0]["pointer"], "/steps");
        let back: Problem = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }
}
