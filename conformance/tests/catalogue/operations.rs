//! Violations caught by the checks of `checks/operations.rs` (section 5).

use std::sync::Arc;

use super::{Case, edit_answers};
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "pluginSha256 in uppercase",
            fails: &["operations.list"],
            violation: || {
                edit_answers("operations.list", ("GET", "/v1/operations"), None, |doc| {
                    for op in doc["operations"].as_array_mut().into_iter().flatten() {
                        let upper = op["pluginSha256"]
                            .as_str()
                            .unwrap_or("")
                            .to_ascii_uppercase();
                        op["pluginSha256"] = upper.into();
                    }
                })
            },
            runner: None,
        },
        Case {
            name: "operations listed in reverse order",
            fails: &["operations.list"],
            violation: || {
                edit_answers("operations.list", ("GET", "/v1/operations"), None, |doc| {
                    if let Some(ops) = doc["operations"].as_array_mut() {
                        ops.reverse();
                        // With one operation, the order cannot show.
                        if ops.len() < 2 {
                            ops.push(serde_json::json!({"name": "zzz"}));
                        }
                    }
                })
            },
            runner: None,
        },
        Case {
            name: "one operation's own document differs from the list",
            fails: &["operations.single"],
            violation: || {
                edit_answers(
                    "operations.single",
                    ("GET", "/v1/operations/*"),
                    None,
                    |op| op["version"] = "0.0.0-changed".into(),
                )
            },
            runner: None,
        },
        Case {
            name: "unknown operations are plain not-found",
            fails: &["operations.not-found"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "operations.not-found" && resp.status == 404 {
                            resp.edit_json(|p| p["type"] = "urn:longrun:problem:not-found".into());
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the published paramsSchema is not the one enforced",
            fails: &["operations.params-schema-enforced"],
            violation: || {
                edit_answers(
                    "operations.params-schema-enforced",
                    ("GET", "/v1/operations/probe"),
                    None,
                    |op| op["paramsSchema"]["properties"]["steps"]["maximum"] = 5.into(),
                )
            },
            runner: None,
        },
    ]
}
