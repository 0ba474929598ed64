//! `POST /v1/jobs/{id}/cancel` and `DELETE /v1/jobs/{id}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::AppState;
use super::document::job_response;
use super::paths::JobId;
use super::urls::BaseUrl;
use crate::problem::Problem;

/// Cancel a job: `200` with the canceled document, `409` if it already ended otherwise.
pub async fn cancel(
    State(state): State<AppState>,
    JobId(id): JobId,
    base: BaseUrl,
) -> Result<Response, Problem> {
    let record = state.jobs.cancel("", &id).await?;
    Ok(job_response(StatusCode::OK, &record, &base))
}

/// Cancel a job if active, then remove it and everything of it.
pub async fn delete(
    State(state): State<AppState>,
    JobId(id): JobId,
    base: BaseUrl,
) -> Result<Response, Problem> {
    let record = state.jobs.delete("", &id).await?;
    Ok(job_response(StatusCode::OK, &record, &base))
}
