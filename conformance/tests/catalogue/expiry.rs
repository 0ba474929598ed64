//! Violations caught by the checks of `checks/expiry.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// A server that keeps answering for a job it no longer has: for the requests
/// of one check, it remembers the last `200` of every `GET` path and replays it
/// instead of a later `404`.
pub(super) struct ReplayStale {
    check: &'static str,
    seen: Mutex<HashMap<String, ProxyResponse>>,
}

impl ReplayStale {
    pub(super) fn for_check(check: &'static str) -> Arc<dyn Violation> {
        Arc::new(ReplayStale {
            check,
            seen: Mutex::new(HashMap::new()),
        })
    }
}

impl Violation for ReplayStale {
    fn response(&self, request: &ProxyRequest, response: &mut ProxyResponse) {
        if request.check() != self.check || request.method != Method::GET {
            return;
        }
        let path = request.path_only().to_owned();
        let mut seen = self.seen.lock().expect("cache lock");
        match response.status {
            200 => {
                seen.insert(path, response.clone());
            }
            404 => {
                if let Some(stale) = seen.get(&path) {
                    *response = stale.clone();
                }
            }
            _ => {}
        }
    }
}

/// A problem answer made up by the proxy.
pub(super) fn problem(status: u16, kind: &str, instance: &str) -> ProxyResponse {
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        "application/problem+json".parse().expect("a header value"),
    );
    ProxyResponse {
        status,
        headers,
        body: Bytes::from(
            json!({
                "type": format!("urn:longrun:problem:{kind}"),
                "title": "made up by the proxy",
                "status": status,
                "detail": "made up by the proxy",
                "instance": instance,
            })
            .to_string(),
        ),
    }
}

/// A job whose log says it is gone before its deadline: the first log request
/// of `expiry.deadline` answers `404`.
struct GoneEarly(AtomicBool);

impl Violation for GoneEarly {
    fn respond(&self, request: &ProxyRequest) -> Option<ProxyResponse> {
        if request.check() == "expiry.deadline"
            && request.is("GET", "/v1/jobs/*/log")
            && !self.0.swap(true, Ordering::SeqCst)
        {
            return Some(problem(404, "job-not-found", request.path_only()));
        }
        None
    }
}

fn is_job_get(req: &ProxyRequest) -> bool {
    req.is("GET", "/v1/jobs/*") && req.path_only() != "/v1/jobs/"
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "an active job shows expiresAt",
            fails: &["expiry.active"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "expiry.active" && is_job_get(req) && resp.status == 200 {
                            resp.edit_json(|doc| {
                                if matches!(doc["status"].as_str(), Some("queued" | "running")) {
                                    doc["expiresAt"] = doc["createdAt"].clone();
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a canceled job's expiresAt is its finishedAt (the TTL is not added)",
            fails: &["expiry.set-on-terminal"],
            violation: || {
                edit_answers(
                    "expiry.set-on-terminal",
                    ("POST", "/v1/jobs/*/cancel"),
                    None,
                    |doc| doc["expiresAt"] = doc["finishedAt"].clone(),
                )
            },
            runner: None,
        },
        Case {
            name: "a GET of a terminal job does not move its deadline",
            fails: &["expiry.use-moves"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "expiry.use-moves"
                            && is_job_get(req)
                            && resp.status == 200
                        {
                            resp.edit_json(|doc| {
                            let finished = doc["finishedAt"]
                                .as_str()
                                .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok());
                            let ttl = doc["ttlSeconds"].as_i64();
                            if let (Some(finished), Some(ttl)) = (finished, ttl) {
                                let at = finished + time::Duration::seconds(ttl);
                                let text = format!(
                                    "{}Z",
                                    at.format(&time::macros::format_description!(
                                        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]"
                                    ))
                                    .unwrap_or_default()
                                );
                                doc["expiresAt"] = Value::String(text);
                            }
                        });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "reading the log counts as a use",
            fails: &["expiry.non-uses"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "expiry.non-uses" && req.is("GET", "/v1/jobs/*/log") {
                        req.path = req.path_only().trim_end_matches("/log").to_owned();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a job that is still there after its TTL (GET replays its last 200)",
            fails: &["expiry.deadline"],
            violation: || ReplayStale::for_check("expiry.deadline"),
            runner: None,
        },
        Case {
            name: "a job that is gone before its deadline",
            fails: &["expiry.deadline"],
            violation: || Arc::new(GoneEarly(AtomicBool::new(false))),
            runner: None,
        },
    ]
}
