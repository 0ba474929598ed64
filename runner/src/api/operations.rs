//! `GET /v1/operations` and `GET /v1/operations/{op}`: what the runner can do.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::paths::OperationName;
use super::urls::BaseUrl;
use crate::operations::Operation;
use crate::problem::{Problem, ProblemKind};

/// The document of one operation.
pub fn operation_document(operation: &Operation, base: &BaseUrl) -> Value {
    let description = operation.plugin.description();
    let url = base.operation(&description.name);
    let mut doc = serde_json::to_value(description).expect("descriptions serialize");
    doc["pluginSha256"] = json!(operation.plugin.sha256());
    doc["links"] = json!({ "self": url, "jobs": format!("{url}/jobs") });
    doc
}

/// Every operation, by name.
pub async fn list(State(state): State<AppState>, base: BaseUrl) -> Json<Value> {
    let operations: Vec<Value> = state
        .operations
        .snapshot()
        .iter()
        .map(|op| operation_document(op, &base))
        .collect();
    Json(json!({ "operations": operations }))
}

/// One operation.
pub async fn one(
    State(state): State<AppState>,
    OperationName(op): OperationName,
    base: BaseUrl,
) -> Result<Json<Value>, Problem> {
    let operation = state
        .operations
        .get(&op)
        .ok_or_else(|| unknown_operation(&op))?;
    Ok(Json(operation_document(&operation, &base)))
}

/// The problem for an operation that does not exist.
pub fn unknown_operation(op: &str) -> Problem {
    Problem::new(
        ProblemKind::OperationNotFound,
        format!("there is no operation `{op}`; GET /v1/operations lists them"),
    )
}
