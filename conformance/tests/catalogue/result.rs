//! Violations caught by the checks of `checks/result.rs`.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::json;

use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a result byte is changed on the way",
            fails: &["result.get"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "result.get"
                            && req.is("GET", "/v1/jobs/*/result")
                            && resp.status == 200
                            && !resp.body.is_empty()
                        {
                            let mut body = resp.body.to_vec();
                            let middle = body.len() / 2;
                            body[middle] ^= 0x01;
                            resp.body = Bytes::from(body);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "HEAD of a result has another ETag than GET",
            fails: &["result.head"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "result.head" && req.is("HEAD", "/v1/jobs/*/result") {
                            resp.set_header("etag", "\"head-is-different\"");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "result-not-available without jobStatus",
            fails: &["result.not-available"],
            violation: || {
                edit_answers(
                    "result.not-available",
                    ("GET", "/v1/jobs/*/result"),
                    Some(409),
                    |p| {
                        if let Some(map) = p.as_object_mut() {
                            map.remove("jobStatus");
                        }
                    },
                )
            },
            runner: None,
        },
        Case {
            name: "the result of an unknown job answers 404 not-found",
            fails: &["result.unknown"],
            violation: || {
                edit_answers(
                    "result.unknown",
                    ("GET", "/v1/jobs/*/result"),
                    Some(404),
                    |p| p["type"] = json!("urn:longrun:problem:not-found"),
                )
            },
            runner: None,
        },
        Case {
            name: "Range is ignored",
            fails: &["result.range"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "result.range" {
                        req.headers.remove("range");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "416 without Content-Range",
            fails: &["result.range-unsatisfiable"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "result.range-unsatisfiable" && resp.status == 416 {
                            resp.remove_header("content-range");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "several ranges are answered with the first one",
            fails: &["result.range-multiple"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() != "result.range-multiple" {
                        return;
                    }
                    let first = req
                        .headers
                        .get("range")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.split(',').next())
                        .map(str::to_owned);
                    if let Some(first) = first {
                        req.headers
                            .insert("range", first.parse().expect("a header value"));
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "every Range is read as bytes=0-9, even invalid ones",
            fails: &["result.range-ignored"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "result.range-ignored" && req.headers.contains_key("range") {
                        req.headers
                            .insert("range", "bytes=0-9".parse().expect("a header value"));
                        req.headers.remove("if-range");
                    }
                }))
            },
            runner: None,
        },
    ]
}
