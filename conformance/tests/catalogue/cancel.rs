//! Violations caught by the checks of `checks/cancel.rs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::json;

use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, ProxyRequest, ProxyResponse, Violation};

/// Every cancel answer of `cancel.repeat` gets a new ETag.
struct FreshEtags(AtomicUsize);

impl Violation for FreshEtags {
    fn response(&self, request: &ProxyRequest, response: &mut ProxyResponse) {
        if request.check() == "cancel.repeat" && request.is("POST", "/v1/jobs/*/cancel") {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            response.set_header("etag", &format!("\"fresh-{n}\""));
        }
    }
}

/// Cancels of `cancel.race` are answered `200` `canceled` without reaching the
/// server: the job runs on and succeeds.
struct CancelNothing;

impl Violation for CancelNothing {
    fn respond(&self, request: &ProxyRequest) -> Option<ProxyResponse> {
        if request.check() != "cancel.race" || !request.is("POST", "/v1/jobs/*/cancel") {
            return None;
        }
        let id = request
            .path_only()
            .split('/')
            .nth(3)
            .unwrap_or("")
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert("content-type", "application/json".parse().expect("a value"));
        headers.insert("etag", "\"made-up\"".parse().expect("a value"));
        headers.insert("cache-control", "no-store".parse().expect("a value"));
        let doc = json!({
            "id": id,
            "status": "canceled",
            "finishedAt": "2026-01-01T00:00:00.000Z",
            "expiresAt": "2026-01-01T01:00:00.000Z",
            "links": {},
        });
        Some(ProxyResponse {
            status: 200,
            headers,
            body: Bytes::from(doc.to_string()),
        })
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "cancel answers a document without finishedAt",
            fails: &["cancel.running"],
            violation: || {
                edit_answers(
                    "cancel.running",
                    ("POST", "/v1/jobs/*/cancel"),
                    None,
                    |doc| doc["finishedAt"] = serde_json::Value::Null,
                )
            },
            runner: None,
        },
        Case {
            name: "cancel of a running job takes longer than 5 s",
            fails: &["cancel.running"],
            violation: || {
                // The cancel becomes a 6-second long poll of the running job.
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "cancel.running" && req.is("POST", "/v1/jobs/*/cancel") {
                        let job = req.path_only().trim_end_matches("/cancel").to_owned();
                        req.method = Method::GET;
                        req.path = format!("{job}?waitSeconds=6");
                        req.body = Bytes::new();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a canceled job gains a result",
            fails: &["cancel.no-result-after"],
            violation: || {
                edit_answers(
                    "cancel.no-result-after",
                    ("GET", "/v1/jobs/*"),
                    Some(200),
                    |doc| {
                        if doc["status"] == "canceled" {
                            let href =
                                format!("{}/result", doc["links"]["self"].as_str().unwrap_or(""));
                            doc["result"] = json!({"href": href, "mediaType": "application/json", "size": 2, "sha256": "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"});
                            doc["resourceLocation"] = json!(href);
                        }
                    },
                )
            },
            runner: None,
        },
        Case {
            name: "a second cancel changes the ETag",
            fails: &["cancel.repeat"],
            violation: || Arc::new(FreshEtags(AtomicUsize::new(0))),
            runner: None,
        },
        Case {
            name: "cancel of a finished job answers 409 without jobStatus",
            fails: &["cancel.finished"],
            violation: || {
                edit_answers(
                    "cancel.finished",
                    ("POST", "/v1/jobs/*/cancel"),
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
            name: "cancel answers 200 canceled, but the job runs on and succeeds",
            fails: &["cancel.race"],
            violation: || Arc::new(CancelNothing),
            runner: None,
        },
        Case {
            name: "cancel of an unknown job answers 404 not-found instead of job-not-found",
            fails: &["cancel.unknown"],
            violation: || {
                edit_answers(
                    "cancel.unknown",
                    ("POST", "/v1/jobs/*/cancel"),
                    Some(404),
                    |p| p["type"] = json!("urn:longrun:problem:not-found"),
                )
            },
            runner: None,
        },
        Case {
            name: "a job canceled while queued shows a startedAt",
            fails: &["cancel.queued-never-starts"],
            violation: || {
                edit_answers(
                    "cancel.queued-never-starts",
                    ("POST", "/v1/jobs/*/cancel"),
                    None,
                    |doc| {
                        if doc["startedAt"].is_null() {
                            doc["startedAt"] = doc["createdAt"].clone();
                        }
                    },
                )
            },
            runner: None,
        },
    ]
}
