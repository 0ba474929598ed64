//! Violations caught by the checks of `checks/states.rs` (section 9.2).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::Case;
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Change the job documents `check` reads (`200` answers of `GET /v1/jobs/{id}`).
fn edit_docs(
    req: &ProxyRequest,
    resp: &mut ProxyResponse,
    check: &str,
    edit: impl FnOnce(&mut Value),
) {
    if req.check() == check && req.is("GET", "/v1/jobs/*") && resp.status == 200 {
        resp.edit_json(edit);
    }
}

/// A server whose queue is last in, first out, as far as a client sees: once
/// a worker is freed, the job created last shows as running.
#[derive(Default)]
struct NewestFirst {
    created: Mutex<Vec<String>>,
    freed: AtomicBool,
}

impl Violation for NewestFirst {
    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if req.check() != "states.workers" {
            return;
        }
        if req.method == "POST" && req.path_only().ends_with("/jobs") && resp.status == 202 {
            if let Some(location) = resp.header("location") {
                let path = location
                    .split_once("/v1/")
                    .map(|(_, p)| format!("/v1/{p}"))
                    .unwrap_or_default();
                self.created.lock().expect("lock").push(path);
            }
            return;
        }
        if (req.method == "POST" && req.path_only().ends_with("/cancel")) || req.method == "DELETE"
        {
            self.freed.store(true, Ordering::SeqCst);
            return;
        }
        if self.freed.load(Ordering::SeqCst)
            && req.is("GET", "/v1/jobs/*")
            && self
                .created
                .lock()
                .expect("lock")
                .last()
                .map(String::as_str)
                == Some(req.path_only())
        {
            resp.edit_json(|doc| {
                if doc["status"] == "queued" {
                    doc["status"] = json!("running");
                    doc["startedAt"] = doc["createdAt"].clone();
                }
            });
        }
    }
}

/// A server that shows a job `queued` again after it was seen `running`,
/// without a new attempt.
#[derive(Default)]
struct BackToQueued {
    seen_running: Mutex<HashSet<String>>,
}

impl Violation for BackToQueued {
    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        let path = req.path_only().to_owned();
        edit_docs(req, resp, "states.transitions", |doc| {
            if doc["status"] != "running" {
                return;
            }
            let mut seen = self.seen_running.lock().expect("lock");
            if !seen.insert(path) {
                doc["status"] = json!("queued");
                doc["startedAt"] = Value::Null;
            }
        });
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "a running job goes back to queued in the same attempt",
            fails: &["states.transitions"],
            violation: || Arc::new(BackToQueued::default()),
            runner: None,
        },
        Case {
            name: "a status outside the five",
            fails: &["states.transitions"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "states.transitions", |doc| {
                            if doc["status"] == "running" {
                                doc["status"] = json!("in-progress");
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "attempt 2 without a restart",
            fails: &["states.transitions"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "states.transitions", |doc| {
                            if doc["status"] == "running" {
                                doc["attempt"] = json!(2);
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a terminal job's progress keeps changing",
            fails: &["states.terminal-immutable"],
            violation: || {
                let reads = AtomicU64::new(0);
                Arc::new(OnResponse(
                    move |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "states.terminal-immutable", |doc| {
                            if matches!(doc["status"].as_str(), Some("succeeded" | "failed")) {
                                let n = reads.fetch_add(1, Ordering::Relaxed);
                                doc["progress"]["message"] = json!(format!("read {n}"));
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "timeoutSeconds ignored",
            fails: &["states.deadline"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "states.deadline"
                        && req.method == "POST"
                        && req.path_only().ends_with("/jobs")
                        && let Ok(mut body) = serde_json::from_slice::<Value>(&req.body)
                    {
                        body["timeoutSeconds"] = json!(600);
                        req.body = body.to_string().into();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "queued jobs shown as running",
            fails: &["states.workers"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "states.workers", |doc| {
                            if doc["status"] == "queued" {
                                doc["status"] = json!("running");
                                doc["startedAt"] = doc["createdAt"].clone();
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the newest queued job starts first",
            fails: &["states.workers"],
            violation: || Arc::new(NewestFirst::default()),
            runner: None,
        },
    ]
}
