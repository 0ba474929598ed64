//! Violations caught by the checks of `checks/multipart.rs` (section 6.4).

use std::sync::Arc;

use super::Case;
use super::create::{is_start, make_problem, replace_in_body, request_header};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a multipart body without boundary is parsed with a guessed boundary",
            fails: &["multipart.malformed"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.malformed"
                        && is_start(req)
                        && request_header(req, "content-type") == Some("multipart/form-data")
                    {
                        // Guess the boundary from the first line of the body.
                        let body = String::from_utf8_lossy(&req.body).into_owned();
                        if let Some(boundary) = body
                            .lines()
                            .next()
                            .and_then(|l| l.strip_prefix("--"))
                            .map(str::to_owned)
                        {
                            req.headers.insert(
                                "content-type",
                                format!("multipart/form-data; boundary={boundary}")
                                    .parse()
                                    .expect("a header value"),
                            );
                        }
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "nameless parts are skipped",
            fails: &["multipart.malformed"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        let body = String::from_utf8_lossy(&req.body);
                        if req.check() == "multipart.malformed"
                            && is_start(req)
                            && body.contains("Content-Disposition: form-data\r\n")
                        {
                            resp.status = 202;
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an input part's media type comes from its filename",
            fails: &["multipart.input-parts"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.input-parts" && is_start(req) {
                        replace_in_body(
                            req,
                            "Content-Type: text/csv\r\n",
                            "Content-Type: application/octet-stream\r\n",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "an input part without Content-Type gets text/plain",
            fails: &["multipart.input-parts"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.input-parts" && is_start(req) {
                        replace_in_body(
                            req,
                            "filename=\"notes.txt\"\r\n\r\n",
                            "filename=\"notes.txt\"\r\nContent-Type: text/plain\r\n\r\n",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the ttlSeconds form field is ignored",
            fails: &["multipart.fields"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.fields" && is_start(req) {
                        replace_in_body(
                            req,
                            "name=\"ttlSeconds\"\r\n\r\n120\r\n",
                            "name=\"ttlSeconds\"\r\n\r\n3600\r\n",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a form field that does not parse is ignored",
            fails: &["multipart.fields"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.fields" && is_start(req) {
                        replace_in_body(
                            req,
                            "name=\"ttlSeconds\"\r\n\r\nsoon\r\n",
                            "name=\"ttlSeconds\"\r\n\r\n60\r\n",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "unknown parts are ignored",
            fails: &["multipart.unknown-and-repeated-parts"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.unknown-and-repeated-parts" && is_start(req) {
                        replace_in_body(
                            req,
                            "name=\"conformanceUnknown\"",
                            "name=\"correlationId\"",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a repeated part is accepted (the last one wins)",
            fails: &["multipart.unknown-and-repeated-parts"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        let body = String::from_utf8_lossy(&req.body);
                        if req.check() == "multipart.unknown-and-repeated-parts"
                            && is_start(req)
                            && body.matches("name=\"params\"").count() > 1
                        {
                            resp.status = 202;
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a form's ttlSeconds is not bounds-checked",
            fails: &["multipart.same-as-json"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "multipart.same-as-json" && is_start(req) {
                        replace_in_body(
                            req,
                            "name=\"ttlSeconds\"\r\n\r\n0\r\n",
                            "name=\"ttlSeconds\"\r\n\r\n60\r\n",
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a form with the key of an equivalent JSON start is not a replay",
            fails: &["multipart.same-as-json"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "multipart.same-as-json"
                            && is_start(req)
                            && request_header(req, "idempotency-key").is_some()
                            && resp.header("idempotent-replayed").is_some()
                        {
                            make_problem(resp, 422, "idempotency-key-reused");
                            resp.remove_header("idempotent-replayed");
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
