//! Violations caught by the checks of `checks/service.rs` (sections 2 and 4).

use std::sync::Arc;

use super::{Case, edit_answers};
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

/// Make `resp` the problem `kind` with `status`.
fn problem(resp: &mut ProxyResponse, status: u16, kind: &str) {
    resp.status = status;
    resp.set_header("content-type", "application/problem+json");
    resp.set_json(&serde_json::json!({
        "type": format!("urn:longrun:problem:{kind}"),
        "title": "Changed by the violation proxy",
        "status": status,
        "detail": "changed by the violation proxy"
    }));
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "protocolVersion 2.0",
            fails: &["service.document"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| doc["protocolVersion"] = "2.0".into());
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "claims events without serving them",
            fails: &["service.claimed-classes"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "service.claimed-classes"
                            && req.is("GET", "/v1/jobs/*/events")
                        {
                            problem(resp, 404, "not-found");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "advertises a smaller maxTtlSeconds than it enforces",
            fails: &["service.limits-enforced"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| doc["limits"]["maxTtlSeconds"] = 7200.into());
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "ignores the job's timeoutSeconds",
            fails: &["service.limits-enforced"],
            violation: || {
                edit_answers(
                    "service.limits-enforced",
                    ("POST", "/v1/operations/probe/jobs"),
                    Some(202),
                    |doc| doc["timeoutSeconds"] = 600.into(),
                )
            },
            runner: None,
        },
    ]
}
