//! Violations caught by the checks of `checks/document.rs` (section 9.1).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Whether this is a `GET` of a job document sent by `check`.
fn job_read_by(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("GET", "/v1/jobs/*")
}

/// Change the job documents `check` reads (`200` answers of `GET /v1/jobs/{id}`).
fn edit_docs(
    req: &ProxyRequest,
    resp: &mut ProxyResponse,
    check: &str,
    edit: impl FnOnce(&mut Value),
) {
    if job_read_by(req, check) && resp.status == 200 {
        resp.edit_json(edit);
    }
}

/// An `ETag` that also covers `expiresAt`, as a server would have that hashes
/// the whole document. The suite's `If-None-Match` values are mapped back to
/// the runner's own tags, so that waiting works as before.
struct EtagWithExpiry;

impl Violation for EtagWithExpiry {
    fn request(&self, req: &mut ProxyRequest) {
        if req.check() != "document.etag" {
            return;
        }
        let Some(tag) = req
            .headers
            .get("if-none-match")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        else {
            return;
        };
        if let Some((own, _)) = tag.split_once("~") {
            let own = format!("{own}\"");
            req.headers
                .insert("if-none-match", own.parse().expect("a header value"));
        }
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if req.check() != "document.etag" {
            return;
        }
        if resp.status != 200 {
            return;
        }
        let Some(doc) = resp.json() else { return };
        let Some(tag) = resp.header("etag").map(str::to_owned) else {
            return;
        };
        let expiry = doc["expiresAt"].as_str().unwrap_or("null").replace(':', "");
        let inner = tag.trim_end_matches('"');
        resp.set_header("etag", &format!("{inner}~{expiry}\""));
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "an unknown job id answers 200",
            fails: &["document.not-found"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "document.not-found") && resp.status == 404 {
                            resp.status = 200;
                            resp.set_header("content-type", "application/json");
                            resp.set_json(&json!({"id": "x", "status": "queued"}));
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a job document without correlationId",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if let Some(map) = doc.as_object_mut() {
                                map.remove("correlationId");
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a job document without pluginSha256",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if let Some(map) = doc.as_object_mut() {
                                map.remove("pluginSha256");
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a running job names another plugin than the operation's",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if doc["status"] == "running" {
                                doc["pluginSha256"] = json!("0".repeat(64));
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "pluginSha256 in upper case",
            fails: &["document.succeeded"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.succeeded", |doc| {
                            if let Some(sha) = doc["pluginSha256"].as_str() {
                                doc["pluginSha256"] = json!(sha.to_uppercase());
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a running job without links.cancel",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if doc["status"] == "running"
                                && let Some(links) = doc["links"].as_object_mut()
                            {
                                links.remove("cancel");
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a running job without startedAt",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if doc["status"] == "running" {
                                doc["startedAt"] = Value::Null;
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an active job's document without Retry-After",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "document.active") {
                            resp.remove_header("retry-after");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a stage index that does not match the stage",
            fails: &["document.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.active", |doc| {
                            if doc["progress"]["stage"].is_string() {
                                doc["progress"]["stageIndex"] = json!(7);
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a succeeded job at 99 percent",
            fails: &["document.progress"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.progress", |doc| {
                            if doc["status"] == "succeeded" {
                                doc["progress"]["percent"] = json!(99);
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an attempt that begins at 5 percent",
            fails: &["document.progress"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.progress", |doc| {
                            if doc["status"] == "running"
                                && matches!(
                                    doc["progress"]["stage"].as_str(),
                                    None | Some("prepare")
                                )
                            {
                                doc["progress"]["percent"] = json!(5);
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "result.sha256 of other bytes",
            fails: &["document.succeeded"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.succeeded", |doc| {
                            if doc["result"].is_object() {
                                doc["result"]["sha256"] = json!("0".repeat(64));
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "result.size one byte too many",
            fails: &["document.succeeded"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.succeeded", |doc| {
                            if let Some(size) = doc["result"]["size"].as_u64() {
                                doc["result"]["size"] = json!(size + 1);
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a terminal job's document with Retry-After",
            fails: &["document.succeeded"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "document.succeeded") {
                            resp.set_header("retry-after", "1");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a failed job's error without instance",
            fails: &["document.failed"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.failed", |doc| {
                            if let Some(error) = doc["error"].as_object_mut() {
                                error.remove("instance");
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a canceled job with an error",
            fails: &["document.failed"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.failed", |doc| {
                            if doc["status"] == "canceled" {
                                doc["error"] = json!({
                                    "type": "urn:longrun:problem:job-canceled",
                                    "title": "The job was canceled",
                                    "status": 409,
                                    "detail": "canceled",
                                });
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "one ETag for every document",
            fails: &["document.etag"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "document.etag" && resp.header("etag").is_some() {
                            resp.set_header("etag", "\"constant\"");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "an ETag that changes with expiresAt",
            fails: &["document.etag"],
            violation: || Arc::new(EtagWithExpiry),
            runner: None,
        },
        Case {
            name: "updatedAt moves on every read of a terminal job",
            fails: &["document.etag"],
            violation: || {
                let reads = AtomicU64::new(0);
                Arc::new(OnResponse(
                    move |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        edit_docs(req, resp, "document.etag", |doc| {
                            if matches!(
                                doc["status"].as_str(),
                                Some("succeeded" | "failed" | "canceled")
                            ) {
                                let n = reads.fetch_add(1, Ordering::Relaxed) % 1000;
                                doc["updatedAt"] = json!(format!("2099-01-01T00:00:00.{n:03}Z"));
                            }
                        })
                    },
                ))
            },
            runner: None,
        },
    ]
}
