//! Violations caught by the checks of `checks/errors.rs` (sections 1.2 and 18).

use std::sync::Arc;

use serde_json::Value;

use super::Case;
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

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

/// Change the job documents `check` reads.
fn edit_job_docs(
    check: &'static str,
    edit: fn(&mut Value),
) -> impl Fn(&ProxyRequest, &mut ProxyResponse) + Send + Sync + 'static {
    move |req, resp| {
        if req.check() == check && req.is("GET", "/v1/jobs/*") && resp.status == 200 {
            resp.edit_json(edit);
        }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a snake_case member in the job document",
            fails: &["errors.camel-case"],
            violation: || {
                Arc::new(OnResponse(edit_job_docs("errors.camel-case", |doc| {
                    if let Some(v) = doc.as_object_mut().and_then(|d| d.remove("createdAt")) {
                        doc["created_at"] = v;
                    }
                })))
            },
            runner: None,
        },
        Case {
            name: "timestamps without milliseconds",
            fails: &["errors.timestamps"],
            violation: || {
                Arc::new(OnResponse(edit_job_docs("errors.timestamps", |doc| {
                    if let Some(t) = doc["createdAt"].as_str() {
                        let short = format!("{}Z", &t[..19.min(t.len())]);
                        doc["createdAt"] = short.into();
                    }
                })))
            },
            runner: None,
        },
        Case {
            name: "a relative Location",
            fails: &["errors.absolute-urls"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.absolute-urls"
                            && resp.status == 202
                            && let Some(location) = resp.header("location").map(str::to_owned)
                        {
                            let path = location
                                .find("/v1/")
                                .map_or(location.clone(), |i| location[i..].to_owned());
                            resp.set_header("location", &path);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "URLs ignore the Host header",
            fails: &["errors.absolute-urls"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    let host = req
                        .headers
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .unwrap_or("");
                    if host.starts_with("conformance-host.test") {
                        req.headers.insert(
                            "host",
                            "listen-address.invalid:8080".parse().expect("a value"),
                        );
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "api-version is refused",
            fails: &["errors.unknown-query-parameters"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.unknown-query-parameters"
                            && req.path.contains("api-version=")
                            && req.path_only().starts_with("/v1/jobs/")
                        {
                            problem(resp, 400, "malformed-request");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "operations served as text/json",
            fails: &["errors.json-media-types"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.json-media-types"
                            && req.is("GET", "/v1/operations")
                        {
                            resp.set_header("content-type", "text/json");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "undefined paths answered as unknown jobs",
            fails: &["errors.not-found"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.not-found" && resp.status == 404 {
                            resp.edit_json(|p| {
                                p["type"] = "urn:longrun:problem:job-not-found".into()
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "405 without Allow",
            fails: &["errors.method-not-allowed"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.method-not-allowed" {
                            resp.remove_header("allow");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "problem titles that vary with the request",
            fails: &["errors.problem-documents"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.problem-documents" && resp.status >= 400 {
                            let path = req.path.clone();
                            resp.edit_json(|p| {
                                let title =
                                    format!("{} at {path}", p["title"].as_str().unwrap_or(""));
                                p["title"] = title.into();
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "problems whose instance is not the request path",
            fails: &["errors.problem-documents"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.problem-documents" && resp.status == 422 {
                            resp.edit_json(|p| p["instance"] = "/v1/somewhere-else".into());
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "503 without Retry-After",
            fails: &["errors.queue-full-retry-after"],
            violation: || {
                Arc::new(OnResponse(
                    |_req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if resp.status == 503 {
                            resp.remove_header("retry-after");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "invalid UTF-8 crashes the request",
            fails: &["errors.hostile-requests"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "errors.hostile-requests"
                            && req.body.windows(2).any(|w| w == [0xff, 0xfe])
                        {
                            resp.status = 502;
                            resp.set_header("content-type", "text/plain");
                            resp.body = "upstream connection reset".into();
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a timed-out job fails as runner-error",
            fails: &["errors.job-failures"],
            violation: || {
                Arc::new(OnResponse(edit_job_docs("errors.job-failures", |doc| {
                    if doc["error"]["type"] == "urn:longrun:problem:deadline-exceeded" {
                        doc["error"]["type"] = "urn:longrun:problem:runner-error".into();
                    }
                })))
            },
            runner: None,
        },
    ]
}
