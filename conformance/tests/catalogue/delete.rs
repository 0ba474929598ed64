//! Violations caught by the checks of `checks/delete.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::Method;
use serde_json::json;

use super::expiry::ReplayStale;
use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "DELETE of a running job answers a document that still has links.cancel",
            fails: &["delete.active"],
            violation: || {
                edit_answers("delete.active", ("DELETE", "/v1/jobs/*"), None, |doc| {
                    let cancel = format!("{}/cancel", doc["links"]["self"].as_str().unwrap_or(""));
                    doc["links"]["cancel"] = json!(cancel);
                })
            },
            runner: None,
        },
        Case {
            name: "DELETE of a succeeded job answers its document without the result",
            fails: &["delete.terminal"],
            violation: || {
                edit_answers("delete.terminal", ("DELETE", "/v1/jobs/*"), None, |doc| {
                    if let Some(map) = doc.as_object_mut() {
                        map.remove("result");
                    }
                })
            },
            runner: None,
        },
        Case {
            name: "a deleted job is still served (GETs replay their last 200)",
            fails: &["delete.gone"],
            violation: || ReplayStale::for_check("delete.gone"),
            runner: None,
        },
        Case {
            name: "DELETE only cancels the job",
            fails: &["delete.race"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "delete.race" && req.is("DELETE", "/v1/jobs/*") {
                        req.method = Method::POST;
                        req.path = format!("{}/cancel", req.path_only());
                        req.body = Bytes::new();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "DELETE of an unknown job answers 204",
            fails: &["delete.unknown"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "delete.unknown" && req.is("DELETE", "/v1/jobs/*") {
                            resp.status = 204;
                            resp.body = Bytes::new();
                            resp.remove_header("content-type");
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
