//! Problem documents (RFC 9457): how longrun reports every error.
//!
//! A [`Problem`] is both the body of every 4xx/5xx answer and the `error` of a
//! failed job. Each kind of problem has a stable type URI,
//! `urn:longrun:problem:<kind>`, listed in [`ProblemKind`] and in `spec/protocol.md`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Declares [`ProblemKind`] from one table: each kind with its slug, HTTP
/// status and title, so that the four stay together.
macro_rules! problem_kinds {
    ($($(#[$doc:meta])* $kind:ident = ($slug:literal, $status:literal, $title:literal),)*) => {
        /// Every kind of problem longrun reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ProblemKind {
            $($(#[$doc])* $kind,)*
        }

        impl ProblemKind {
            /// Every kind.
            pub const ALL: &[ProblemKind] = &[$(ProblemKind::$kind,)*];

            /// The `<kind>` part of the type URI.
            pub fn slug(self) -> &'static str {
                match self { $(ProblemKind::$kind => $slug,)* }
            }

            /// The HTTP status of this kind of problem.
            pub fn status(self) -> u16 {
                match self { $(ProblemKind::$kind => $status,)* }
            }

            /// A short, fixed summary of this kind of problem.
            pub fn title(self) -> &'static str {
                match self { $(ProblemKind::$kind => $title,)* }
            }
        }
    };
}

problem_kinds! {
    /// The request could not be parsed or has a wrong field.
    MalformedRequest = ("malformed-request", 400, "The request is malformed"),
    /// No such path.
    NotFound = ("not-found", 404, "No such resource"),
    /// No such operation.
    OperationNotFound = ("operation-not-found", 404, "No such operation"),
    /// No such job (never existed, deleted, expired, or another tenant's).
    JobNotFound = ("job-not-found", 404, "No such job"),
    /// The path exists but not with this method.
    MethodNotAllowed = ("method-not-allowed", 405, "Method not allowed"),
    /// Cancel of a job that already succeeded or failed.
    JobFinished = ("job-finished", 409, "The job has already finished"),
    /// The result of a job that is active or did not succeed.
    ResultNotAvailable = ("result-not-available", 409, "The job has no result"),
    /// A repeat of a request whose `Idempotency-Key` is still being accepted.
    IdempotencyKeyInUse = ("idempotency-key-in-use", 409, "A request with this Idempotency-Key is still being accepted"),
    /// The body or an input is too large.
    PayloadTooLarge = ("payload-too-large", 413, "The request is too large"),
    /// The body's media type is not accepted.
    UnsupportedMediaType = ("unsupported-media-type", 415, "Unsupported media type"),
    /// The requested byte range cannot be served.
    RangeNotSatisfiable = ("range-not-satisfiable", 416, "The range cannot be satisfied"),
    /// `params` fail the operation's JSON Schema.
    InvalidParams = ("invalid-params", 422, "The params are invalid"),
    /// Inputs are missing, unknown, of the wrong type or unreadable.
    InvalidInputs = ("invalid-inputs", 422, "The inputs are invalid"),
    /// Another field of the request is out of bounds.
    InvalidRequest = ("invalid-request", 422, "The request is invalid"),
    /// An outbound URL is refused by the guard.
    UrlNotAllowed = ("url-not-allowed", 422, "The URL is not allowed"),
    /// An `Idempotency-Key` was reused for a different request.
    IdempotencyKeyReused = ("idempotency-key-reused", 422, "The Idempotency-Key was used for a different request"),
    /// The queue is full.
    QueueFull = ("queue-full", 503, "The queue is full"),
    /// Something went wrong inside the runner.
    Internal = ("internal", 500, "Internal error"),
    /// Job failure: the plugin returned an error.
    PluginError = ("plugin-error", 422, "The operation failed"),
    /// Job failure: the plugin trapped.
    PluginTrap = ("plugin-trap", 500, "The plugin crashed"),
    /// Job failure: the plugin went past its memory cap.
    MemoryLimitExceeded = ("memory-limit-exceeded", 500, "The plugin exceeded its memory limit"),
    /// Job failure: the run went past its deadline.
    DeadlineExceeded = ("deadline-exceeded", 504, "The job ran past its deadline"),
    /// Job failure: the runner died during too many attempts.
    AttemptsExhausted = ("attempts-exhausted", 500, "The job was interrupted too many times"),
    /// Job failure: the runner could not complete the job.
    RunnerError = ("runner-error", 500, "The runner could not complete the job"),
    /// Synchronous mode: the job was canceled while the request waited.
    JobCanceled = ("job-canceled", 409, "The job was canceled"),
}

impl ProblemKind {
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
            .iter()
            .copied()
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
