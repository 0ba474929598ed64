//! Violations caught by the checks of `checks/url_guard.rs` (section 19).

use std::sync::Arc;

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

/// Change the problem type of `check`'s answers from `from` to `to`, for start
/// requests whose body contains `marker`.
fn retype(
    check: &'static str,
    marker: &'static str,
    from: &'static str,
    to: &'static str,
) -> impl Fn(&ProxyRequest, &mut ProxyResponse) + Send + Sync + 'static {
    move |req, resp| {
        let body = String::from_utf8_lossy(&req.body);
        if req.check() == check && body.contains(marker) {
            resp.edit_json(|p| {
                if p["type"] == format!("urn:longrun:problem:{from}") {
                    p["type"] = format!("urn:longrun:problem:{to}").into();
                }
            });
        }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "URLs with credentials pass the guard",
            fails: &["url_guard.refused-urls"],
            violation: || {
                Arc::new(OnResponse(retype(
                    "url_guard.refused-urls",
                    "user:secret@",
                    "url-not-allowed",
                    "invalid-inputs",
                )))
            },
            runner: None,
        },
        Case {
            name: "a hexadecimal loopback address is not recognized",
            fails: &["url_guard.loopback-spellings"],
            violation: || {
                Arc::new(OnResponse(retype(
                    "url_guard.loopback-spellings",
                    "0x7f.0.0.1",
                    "url-not-allowed",
                    "invalid-inputs",
                )))
            },
            runner: Some(|config| config.allow_private_networks = false),
        },
        Case {
            name: "the service document claims a guard the server does not apply",
            fails: &["url_guard.loopback-spellings"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| {
                                doc["urlGuard"]["privateNetworksAllowed"] = false.into()
                            });
                        }
                    },
                ))
            },
            runner: Some(|config| config.allow_private_networks = true),
        },
        Case {
            name: "a redirect answer is accepted",
            fails: &["url_guard.no-redirects"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "url_guard.no-redirects" && resp.status == 422 {
                            resp.status = 202;
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an oversized URL input is not 413",
            fails: &["url_guard.size-bound"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "url_guard.size-bound" && resp.status == 413 {
                            resp.status = 422;
                            resp.edit_json(|p| {
                                p["status"] = 422.into();
                                p["type"] = "urn:longrun:problem:invalid-inputs".into();
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
