//! Violations caught by the checks of `checks/poll.rs` (section 10).

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::json;

use super::Case;
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Whether this is a `GET` of a job document sent by `check`.
fn job_read_by(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("GET", "/v1/jobs/*")
}

/// Drop the `waitSeconds` parameter of the job reads of `check`, so that
/// long polls are answered at once.
fn drop_wait(req: &mut ProxyRequest, check: &str) {
    if job_read_by(req, check) {
        req.path = req.path_only().to_owned();
    }
}

/// A server that refuses a `waitSeconds` above its cap instead of capping it.
struct RefuseLongWaits;

impl Violation for RefuseLongWaits {
    fn respond(&self, req: &ProxyRequest) -> Option<ProxyResponse> {
        if !job_read_by(req, "poll.wait-capped") {
            return None;
        }
        let wait = req
            .path
            .split_once("waitSeconds=")
            .and_then(|(_, v)| v.split('&').next())
            .and_then(|v| v.parse::<u64>().ok())?;
        if wait <= 60 {
            return None;
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            "application/problem+json".parse().expect("a header value"),
        );
        let body = json!({
            "type": "urn:longrun:problem:malformed-request",
            "title": "The request is malformed",
            "status": 400,
            "detail": "waitSeconds is too large",
            "instance": req.path_only(),
        });
        Some(ProxyResponse {
            status: 400,
            headers,
            body: Bytes::from(body.to_string()),
        })
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a 304 without Cache-Control",
            fails: &["poll.not-modified"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "poll.not-modified") && resp.status == 304 {
                            resp.remove_header("cache-control");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "If-None-Match: * does not match",
            fails: &["poll.not-modified"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if job_read_by(req, "poll.not-modified")
                        && req
                            .headers
                            .get("if-none-match")
                            .is_some_and(|v| v.as_bytes() == b"*")
                    {
                        req.headers.remove("if-none-match");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a malformed waitSeconds is ignored",
            fails: &["poll.wait-seconds-invalid"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    drop_wait(req, "poll.wait-seconds-invalid")
                }))
            },
            runner: None,
        },
        Case {
            name: "a waitSeconds above the cap is refused",
            fails: &["poll.wait-capped"],
            violation: || Arc::new(RefuseLongWaits),
            runner: None,
        },
        Case {
            name: "long polls wait longer than the advertised maxWaitSeconds",
            fails: &["poll.wait-capped"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| doc["limits"]["maxWaitSeconds"] = json!(1));
                        }
                    },
                ))
            },
            runner: Some(|config| config.limits.max_wait_seconds = 3),
        },
        Case {
            name: "a long poll with a matching tag answers at once",
            fails: &["poll.wait-unchanged", "poll.wait-match-forms"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "poll.wait-unchanged" {
                        drop_wait(req, "poll.wait-unchanged");
                    } else {
                        drop_wait(req, "poll.wait-match-forms");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a tag that does not match makes the request wait",
            fails: &["poll.change"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if job_read_by(req, "poll.change")
                        && req
                            .headers
                            .get("if-none-match")
                            .is_some_and(|v| v.as_bytes() == b"\"conformance-stale\"")
                    {
                        req.headers.remove("if-none-match");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a long poll answers 200 with the old ETag",
            fails: &["poll.change"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "poll.change")
                            && resp.status == 200
                            && let Some(tag) = req.headers.get("if-none-match").cloned()
                            && tag.as_bytes() != b"\"conformance-stale\""
                        {
                            resp.headers.insert("etag", tag);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a long poll without a tag answers at once",
            fails: &["poll.terminal"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    drop_wait(req, "poll.terminal")
                }))
            },
            runner: None,
        },
        Case {
            name: "a waiting request for a deleted job answers 200",
            fails: &["poll.deleted"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "poll.deleted") && resp.status == 404 {
                            resp.status = 200;
                            resp.set_header("content-type", "application/json");
                            resp.set_json(&json!({"status": "canceled"}));
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
