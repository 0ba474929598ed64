//! Violations caught by the checks of `checks/create.rs` (section 6.1, 6.3),
//! and helpers the catalogue files of sections 6 to 8 share.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{Value, json};

use super::Case;
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Whether the request is a start request (`POST /v1/operations/*/jobs`).
pub(super) fn is_start(req: &ProxyRequest) -> bool {
    req.is("POST", "/v1/operations/*/jobs")
}

/// Change the JSON body of a request in place, if it is JSON.
pub(super) fn edit_request_json(req: &mut ProxyRequest, edit: impl FnOnce(&mut Value)) {
    if let Ok(mut value) = serde_json::from_slice::<Value>(&req.body) {
        edit(&mut value);
        req.body = Bytes::from(value.to_string());
    }
}

/// Replace every `from` in the body of a request by `to`.
pub(super) fn replace_in_body(req: &mut ProxyRequest, from: &str, to: &str) {
    let (from, to) = (from.as_bytes(), to.as_bytes());
    let body = &req.body;
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if !from.is_empty() && body[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    req.body = Bytes::from(out);
}

/// The first value of a request header.
pub(super) fn request_header<'a>(req: &'a ProxyRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Make the answer the problem `kind` with `status`.
pub(super) fn make_problem(resp: &mut ProxyResponse, status: u16, kind: &str) {
    resp.status = status;
    resp.set_json(&json!({
        "type": format!("urn:longrun:problem:{kind}"),
        "title": "A problem",
        "status": status,
        "detail": "made up by the violation proxy",
    }));
    resp.set_header("content-type", "application/problem+json");
}

/// A refused start whose job the server commits anyway: the request loses the
/// fault (`ttlSeconds` 0), the answer still refuses it.
struct CommitsRefusedStarts;

impl Violation for CommitsRefusedStarts {
    fn request(&self, req: &mut ProxyRequest) {
        if req.check() == "create.no-job-on-failure" && is_start(req) {
            let mut stripped = false;
            edit_request_json(req, |body| {
                if body.get("ttlSeconds") == Some(&json!(0))
                    && let Some(map) = body.as_object_mut()
                {
                    map.remove("ttlSeconds");
                    stripped = true;
                }
            });
            if stripped {
                req.headers
                    .insert("x-violation-stripped", "1".parse().expect("a header value"));
            }
        }
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if req.headers.contains_key("x-violation-stripped") && resp.status == 202 {
            resp.remove_header("location");
            make_problem(resp, 422, "invalid-request");
        }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "202 without Operation-Location",
            fails: &["create.accepted"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.accepted" && is_start(req) {
                            resp.remove_header("operation-location");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "202 Link header without rel=result",
            fails: &["create.accepted"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.accepted"
                            && is_start(req)
                            && let Some(location) = resp.header("location").map(str::to_owned)
                        {
                            let link = format!(
                                "<{location}>; rel=\"monitor\", <{location}/cancel>; rel=\"cancel\""
                            );
                            resp.set_header("link", &link);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "202 document says running",
            fails: &["create.accepted"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.accepted" && is_start(req) {
                            resp.edit_json(|doc| doc["status"] = json!("running"));
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a refused start still commits a job",
            fails: &["create.no-job-on-failure"],
            violation: || Arc::new(CommitsRefusedStarts),
            runner: None,
        },
        Case {
            name: "params are validated before inputs",
            fails: &["create.check-order"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                        if req.check() == "create.check-order"
                            && is_start(req)
                            && body.get("params").is_some()
                            && resp
                                .json()
                                .is_some_and(|p| p["type"] == "urn:longrun:problem:invalid-inputs")
                        {
                            make_problem(resp, 422, "invalid-params");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an oversized body is parsed before its size is checked",
            fails: &["create.check-order"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.check-order"
                            && is_start(req)
                            && resp.status == 413
                        {
                            make_problem(resp, 400, "malformed-request");
                        }
                    },
                ))
            },
            runner: Some(|config| config.limits.max_body_bytes = 64 * 1024),
        },
        Case {
            name: "a body of another media type is taken as JSON",
            fails: &["create.content-type"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.content-type" && is_start(req) {
                        req.headers.insert(
                            "content-type",
                            "application/json".parse().expect("a header value"),
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "unknown and wrongly typed members are dropped, not refused",
            fails: &["create.malformed-body"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.malformed-body" && is_start(req) {
                        let known = [
                            "inputs",
                            "params",
                            "output",
                            "ttlSeconds",
                            "timeoutSeconds",
                            "correlationId",
                            "callback",
                        ];
                        edit_request_json(req, |body| {
                            if let Some(map) = body.as_object_mut() {
                                map.retain(|k, v| {
                                    known.contains(&k.as_str())
                                        && match k.as_str() {
                                            "inputs" | "output" => {
                                                v.is_object() && !v["file"].is_number()
                                            }
                                            "ttlSeconds" | "timeoutSeconds" => v.is_u64(),
                                            "correlationId" => v.is_string(),
                                            _ => true,
                                        }
                                });
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the callback member is silently ignored",
            fails: &["create.callback-member"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.callback-member" && is_start(req) {
                        edit_request_json(req, |body| {
                            if let Some(map) = body.as_object_mut() {
                                map.remove("callback");
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "params are not validated",
            fails: &["create.invalid-params"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.invalid-params" && is_start(req) {
                        edit_request_json(req, |body| {
                            if let Some(map) = body.as_object_mut() {
                                map.remove("params");
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "invalid-params without errors",
            fails: &["create.invalid-params"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.invalid-params" && is_start(req) {
                            resp.edit_json(|p| {
                                if let Some(map) = p.as_object_mut() {
                                    map.remove("errors");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "ttlSeconds out of bounds is clamped, not refused",
            fails: &["create.ttl-bounds"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.ttl-bounds" && is_start(req) {
                        edit_request_json(req, |body| {
                            if body["ttlSeconds"].as_i64().is_some_and(|t| t < 1) {
                                body["ttlSeconds"] = json!(1);
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "timeoutSeconds out of bounds is clamped, not refused",
            fails: &["create.timeout-bounds"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.timeout-bounds" && is_start(req) {
                        edit_request_json(req, |body| {
                            if body["timeoutSeconds"].as_i64().is_some_and(|t| t < 1) {
                                body["timeoutSeconds"] = json!(1);
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "correlationId is cut to 200 characters",
            fails: &["create.correlation-id"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.correlation-id" && is_start(req) {
                        edit_request_json(req, |body| {
                            if let Some(id) = body["correlationId"].as_str()
                                && id.chars().count() > 200
                            {
                                body["correlationId"] =
                                    json!(id.chars().take(200).collect::<String>());
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "output.file is not checked",
            fails: &["create.output-file"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "create.output-file" && is_start(req) {
                        edit_request_json(req, |body| {
                            if let Some(map) = body.as_object_mut() {
                                map.remove("output");
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the 202 has another ETag than GET",
            fails: &["create.etag-of-queued-job"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.etag-of-queued-job"
                            && is_start(req)
                            && resp.status == 202
                        {
                            resp.set_header("etag", "\"violation-etag\"");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "503 queue-full without Retry-After",
            fails: &["create.queue-full"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "create.queue-full" && is_start(req) && resp.status == 503
                        {
                            resp.remove_header("retry-after");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the queue is checked before the bounds",
            fails: &["create.queue-full"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                        if req.check() == "create.queue-full"
                            && is_start(req)
                            && body["ttlSeconds"] == 0
                        {
                            make_problem(resp, 503, "queue-full");
                            resp.set_header("retry-after", "1");
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
