//! Violations caught by the checks of `checks/probe.rs`.

use std::sync::Arc;

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![Case {
        name: "probe stages in another order",
        fails: &["probe.offered"],
        violation: || {
            Arc::new(OnResponse(
                |req: &ProxyRequest, resp: &mut ProxyResponse| {
                    if req.is("GET", "/v1/operations/probe") {
                        resp.edit_json(|op| {
                            op["stages"] = serde_json::json!(["work", "prepare", "finish"])
                        });
                    }
                },
            ))
        },
        runner: None,
    }]
}
