//! Violations caught by the checks of `checks/sync.rs` (section 8).

use std::sync::Arc;

use serde_json::json;

use super::Case;
use super::create::{edit_request_json, is_start, make_problem, request_header};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Answers `202` at once but claims to have waited: `Prefer: wait=1` becomes
/// `wait=0` on the way in, `Preference-Applied: wait=0` becomes `wait=1` on the
/// way out.
struct AnswersBeforeTheWait;

impl Violation for AnswersBeforeTheWait {
    fn request(&self, req: &mut ProxyRequest) {
        if req.check() == "sync.still-active"
            && is_start(req)
            && request_header(req, "prefer") == Some("wait=1")
        {
            req.headers
                .insert("prefer", "wait=0".parse().expect("a header value"));
        }
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if req.check() == "sync.still-active" && resp.header("preference-applied") == Some("wait=0")
        {
            resp.set_header("preference-applied", "wait=1");
        }
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a synchronous 200 without Preference-Applied",
            fails: &["sync.quick-success"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.quick-success" && is_start(req) {
                            resp.remove_header("preference-applied");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a synchronous 200 with the job's ETag instead of the result's",
            fails: &["sync.quick-success"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.quick-success"
                            && is_start(req)
                            && resp.status == 200
                        {
                            resp.set_header("etag", "\"r3-job\"");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a synchronous 200 that comes 2 s after the job ended",
            fails: &["sync.quick-success"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.quick-success"
                            && is_start(req)
                            && resp.status == 200
                        {
                            // The proxy's handler runs on a runtime worker: hand its
                            // other tasks to the other workers while it sleeps.
                            tokio::task::block_in_place(|| {
                                std::thread::sleep(std::time::Duration::from_millis(2000))
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a synchronous failure answered 200",
            fails: &["sync.failure"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.failure" && is_start(req) && resp.status >= 400 {
                            resp.status = 200;
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a cancel while waiting is answered 202",
            fails: &["sync.canceled-while-waiting"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.canceled-while-waiting"
                            && is_start(req)
                            && resp.status == 409
                        {
                            make_problem(resp, 500, "internal");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a 202 before the applied wait elapsed",
            fails: &["sync.still-active"],
            violation: || Arc::new(AnswersBeforeTheWait),
            runner: None,
        },
        Case {
            name: "the 202 after the wait shows the document as committed",
            fails: &["sync.still-active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.still-active" && is_start(req) && resp.status == 202
                        {
                            resp.edit_json(|doc| {
                                doc["status"] = json!("queued");
                                doc["startedAt"] = json!(null);
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "respond-async is ignored when wait is given",
            fails: &["sync.respond-async"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "sync.respond-async" && is_start(req) {
                        let prefers: Vec<String> = req
                            .headers
                            .get_all("prefer")
                            .iter()
                            .filter_map(|v| v.to_str().ok())
                            .map(|v| {
                                v.split(',')
                                    .map(str::trim)
                                    .filter(|p| *p != "respond-async")
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            })
                            .filter(|v| !v.is_empty())
                            .collect();
                        req.headers.remove("prefer");
                        for p in prefers {
                            req.headers
                                .append("prefer", p.parse().expect("a header value"));
                        }
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a malformed wait is ignored",
            fails: &["sync.prefer-syntax"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "sync.prefer-syntax"
                        && is_start(req)
                        && request_header(req, "prefer").is_some_and(|p| {
                            p.starts_with("wait=") && p[5..].parse::<u64>().is_err()
                        })
                    {
                        req.headers.remove("prefer");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the last wait preference counts",
            fails: &["sync.prefer-syntax"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "sync.prefer-syntax" && is_start(req) {
                        let all: Vec<String> = req
                            .headers
                            .get_all("prefer")
                            .iter()
                            .filter_map(|v| v.to_str().ok())
                            .flat_map(|v| {
                                v.split(',')
                                    .map(|p| p.trim().to_owned())
                                    .collect::<Vec<_>>()
                            })
                            .collect();
                        if all.iter().filter(|p| p.starts_with("wait=")).count() > 1 {
                            let last = all.iter().rev().find(|p| p.starts_with("wait=")).cloned();
                            req.headers.remove("prefer");
                            if let Some(last) = last {
                                req.headers
                                    .insert("prefer", last.parse().expect("a header value"));
                            }
                        }
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the wait is not capped to maxWaitSeconds",
            fails: &["sync.wait-capped"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "sync.wait-capped"
                            && is_start(req)
                            && let Some(prefer) = request_header(req, "prefer")
                        {
                            resp.set_header("preference-applied", prefer);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a client that disconnects fails its job",
            fails: &["sync.client-disconnect"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "sync.client-disconnect" && is_start(req) {
                        edit_request_json(req, |body| {
                            body["params"]["fail"] = json!({"code": "client-gone", "message": "the client disconnected"});
                        });
                    }
                }))
            },
            runner: None,
        },
    ]
}
