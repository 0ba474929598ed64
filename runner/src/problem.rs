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
    /// Every kind.
    pub const ALL: [ProblemKind; 25] = {
        use ProblemKind::*;
        [
            MalformedRequest,
            NotFound,
            OperationNotFound,
            JobNotFound,
            MethodNotAllowed,
            JobFinished,
            ResultNotAvailable,
            IdempotencyKeyInUse,
            PayloadTooLarge,
            UnsupportedMediaType,
            RangeNotSatisfiable,
            InvalidParams,
            InvalidInputs,
            InvalidRequest,
            UrlNotAllowed,
            IdempotencyKeyReused,
            QueueFull,
            Internal,
            PluginError,
            PluginTrap,
            MemoryLimitExceeded,
            DeadlineExceeded,
            AttemptsExhausted,
            RunnerError,
            JobCanceled,
        ]
    };

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
///
/// On the wire it has `type`, `title`, `status`, `detail`, `instance` and the
/// extension members; in memory the first three come from its [`ProblemKind`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "WireProblem", try_from = "WireProblem")]
pub struct Problem {
    /// The kind, which gives the type URI, title and status.
    pub kind: ProblemKind,
    /// What went wrong this time, for people.
    pub detail: Option<String>,
    /// The request path the problem is about.
    pub instance: Option<String>,
    /// Members particular to the kind (`errors`, `code`, `jobStatus`, …).
    pub extensions: Map<String, Value>,
}

/// The serialized form of a [`Problem`].
#[derive(Serialize, Deserialize)]
struct WireProblem {
    #[serde(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    instance: Option<String>,
    #[serde(flatten)]
    extensions: Map<String, Value>,
}

impl From<Problem> for WireProblem {
    fn from(p: Problem) -> Self {
        WireProblem {
            type_uri: p.kind.type_uri(),
            title: p.kind.title().to_owned(),
            status: p.kind.status(),
            detail: p.detail,
            instance: p.instance,
            extensions: p.extensions,
        }
    }
}

impl TryFrom<WireProblem> for Problem {
    type Error = String;

    fn try_from(wire: WireProblem) -> Result<Self, Self::Error> {
        let kind = ProblemKind::ALL
            .into_iter()
            .find(|k| k.type_uri() == wire.type_uri)
            .ok_or_else(|| format!("unknown problem type `{}`", wire.type_uri))?;
        Ok(Problem {
            kind,
            detail: wire.detail,
            instance: wire.instance,
            extensions: wire.extensions,
        })
    }
}

impl Problem {
    /// A problem of `kind` with a detail message.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
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
        self.kind == kind
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.detail {
            Some(detail) => write!(f, "{}: {detail}", self.kind.title()),
            None => f.write_str(self.kind.title()),
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

    #[test]
    fn every_kind_has_a_distinct_type() {
        let mut slugs: Vec<_> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        let unknown = serde_json::json!({"type": "urn:x", "title": "x", "status": 400});
        assert!(serde_json::from_value::<Problem>(unknown).is_err());
    }
}
