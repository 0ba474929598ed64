//! The path parameters of the API, extracted so that a malformed one is the
//! problem its resource would give: an id that cannot be a job's is
//! `job-not-found`, a name that cannot be an operation's is `operation-not-found`.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::problem::{Problem, ProblemKind};

/// The `{id}` of `/v1/jobs/{id}…`.
#[derive(Debug, Clone)]
pub struct JobId(pub String);

/// The `{op}` of `/v1/operations/{op}…`.
#[derive(Debug, Clone)]
pub struct OperationName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for JobId {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| JobId(id))
            .map_err(|_| Problem::new(ProblemKind::JobNotFound, "no job has this id"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for OperationName {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(op)| OperationName(op))
            .map_err(|_| Problem::new(ProblemKind::OperationNotFound, "no operation has this name"))
    }
}
