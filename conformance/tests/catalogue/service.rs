//! Violations of section 4 (service document).

use std::sync::Arc;

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![Case {
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
    }]
}
