//! Violations caught by the checks of `checks/idempotency.rs` (section 7).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;

use super::Case;
use super::create::{is_start, make_problem, request_header};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// A made-up `422 idempotency-key-reused` answer.
fn reused() -> ProxyResponse {
    let mut resp = ProxyResponse {
        status: 422,
        headers: HeaderMap::new(),
        body: Bytes::new(),
    };
    make_problem(&mut resp, 422, "idempotency-key-reused");
    resp
}

/// The key of a start request of `check`, if it has one.
fn key_of(req: &ProxyRequest, check: &str) -> Option<String> {
    (req.check() == check && is_start(req))
        .then(|| request_header(req, "idempotency-key").map(str::to_owned))
        .flatten()
}

/// Compares requests by their raw bytes: any other spelling of the same
/// request is a reuse of the key.
#[derive(Default)]
struct ComparesBytes(Mutex<HashMap<String, Bytes>>);

impl Violation for ComparesBytes {
    fn respond(&self, req: &ProxyRequest) -> Option<ProxyResponse> {
        let key = key_of(req, "idempotency.same-request")?;
        let mut seen = self.0.lock().unwrap();
        let first = seen.entry(key).or_insert_with(|| req.body.clone());
        (*first != req.body).then(reused)
    }
}

/// Replays whatever comes with a bound key: the first body seen with a key
/// replaces every later one.
#[derive(Default)]
struct ReplaysAnything(Mutex<HashMap<String, Bytes>>);

impl Violation for ReplaysAnything {
    fn request(&self, req: &mut ProxyRequest) {
        if let Some(key) = key_of(req, "idempotency.reused-key") {
            let mut seen = self.0.lock().unwrap();
            req.body = seen.entry(key).or_insert_with(|| req.body.clone()).clone();
        }
    }
}

/// Binds the key of a refused start: a later start with it is a reuse.
#[derive(Default)]
struct BindsRefusedKeys(Mutex<Vec<String>>);

impl Violation for BindsRefusedKeys {
    fn respond(&self, req: &ProxyRequest) -> Option<ProxyResponse> {
        let key = key_of(req, "idempotency.failed-start-binds-nothing")?;
        self.0.lock().unwrap().contains(&key).then(reused)
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if let Some(key) = key_of(req, "idempotency.failed-start-binds-nothing")
            && (400..500).contains(&resp.status)
        {
            self.0.lock().unwrap().push(key);
        }
    }
}

/// Keeps a key bound after its job is deleted: the third start with a key
/// (after the replay) is a reuse.
#[derive(Default)]
struct KeepsKeysForever(Mutex<HashMap<String, usize>>);

impl Violation for KeepsKeysForever {
    fn respond(&self, req: &ProxyRequest) -> Option<ProxyResponse> {
        let key = key_of(req, "idempotency.delete-frees-key")?;
        let mut seen = self.0.lock().unwrap();
        let count = seen.entry(key).or_insert(0);
        *count += 1;
        (*count >= 3).then(reused)
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "any Idempotency-Key is accepted",
            fails: &["idempotency.key-syntax"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "idempotency.key-syntax" && is_start(req) {
                        let valid = request_header(req, "idempotency-key").is_some_and(|k| {
                            !k.is_empty()
                                && k.len() <= 255
                                && k.bytes().all(|b| (0x21..=0x7e).contains(&b))
                        });
                        if !valid {
                            req.headers.remove("idempotency-key");
                        }
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a replay without Idempotent-Replayed",
            fails: &["idempotency.replay"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.replay" && is_start(req) {
                            resp.remove_header("idempotent-replayed");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a replay shows the document as it was committed",
            fails: &["idempotency.replay"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.replay"
                            && is_start(req)
                            && resp.header("idempotent-replayed").is_some()
                        {
                            resp.edit_json(|doc| doc["status"] = "queued".into());
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the first start with a key says Idempotent-Replayed",
            fails: &["idempotency.replay"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.replay"
                            && is_start(req)
                            && resp.status == 202
                        {
                            resp.set_header("idempotent-replayed", "true");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "requests are compared byte for byte",
            fails: &["idempotency.same-request"],
            violation: || Arc::new(ComparesBytes::default()),
            runner: None,
        },
        Case {
            name: "a different request with a bound key is replayed",
            fails: &["idempotency.reused-key"],
            violation: || Arc::new(ReplaysAnything::default()),
            runner: None,
        },
        Case {
            name: "409 idempotency-key-in-use without Retry-After",
            fails: &["idempotency.key-in-use"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.key-in-use" && is_start(req) {
                            resp.remove_header("retry-after");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a refused start binds its key",
            fails: &["idempotency.failed-start-binds-nothing"],
            violation: || Arc::new(BindsRefusedKeys::default()),
            runner: None,
        },
        Case {
            name: "a key stays bound after its job is deleted",
            fails: &["idempotency.delete-frees-key"],
            violation: || Arc::new(KeepsKeysForever::default()),
            runner: None,
        },
        Case {
            name: "a replay is refused while the queue is full",
            fails: &["idempotency.replay-when-queue-full"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.replay-when-queue-full"
                            && is_start(req)
                            && resp.header("idempotent-replayed").is_some()
                        {
                            make_problem(resp, 503, "queue-full");
                            resp.remove_header("idempotent-replayed");
                            resp.set_header("retry-after", "1");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a synchronous replay without Idempotent-Replayed",
            fails: &["idempotency.sync-replay"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "idempotency.sync-replay"
                            && is_start(req)
                            && resp.status == 200
                        {
                            resp.remove_header("idempotent-replayed");
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
