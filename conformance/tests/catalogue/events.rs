//! Violations caught by the checks of `checks/events.rs` (section 12).
//!
//! Chunks of an event stream may split events anywhere; the rewrites below
//! work on whole lines or whole events as the runner writes them (one event
//! per chunk) and change every occurrence, so a split only weakens, never
//! undoes, a violation.

use std::sync::Arc;

use serde_json::json;

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Whether this is a `GET` of an event stream sent by `check`.
fn stream_of(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("GET", "/v1/jobs/*/events")
}

/// A violation that rewrites the event streams of one check.
struct Chunks {
    check: &'static str,
    rewrite: fn(&str) -> String,
}

impl Violation for Chunks {
    fn event_chunk(&self, req: &ProxyRequest, chunk: &mut Vec<u8>) {
        if !stream_of(req, self.check) {
            return;
        }
        let text = String::from_utf8_lossy(chunk).into_owned();
        *chunk = (self.rewrite)(&text).into_bytes();
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "an event stream that may be cached",
            fails: &["events.headers"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if stream_of(req, "events.headers") {
                            resp.set_header("cache-control", "max-age=60");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the events of an unknown job are a 410",
            fails: &["events.headers"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if stream_of(req, "events.headers") && resp.status == 404 {
                            resp.status = 410;
                            resp.edit_json(|p| p["status"] = json!(410));
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "progress events sent as status events",
            fails: &["events.stream"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.stream",
                    rewrite: |text| text.replace("event: progress", "event: status"),
                })
            },
            runner: None,
        },
        Case {
            name: "events without an id",
            fails: &["events.stream"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.stream",
                    rewrite: |text| {
                        text.split_inclusive('\n')
                            .filter(|line| !line.starts_with("id:"))
                            .collect()
                    },
                })
            },
            runner: None,
        },
        Case {
            name: "the document split over two data lines",
            fails: &["events.stream"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.stream",
                    rewrite: |text| text.replacen("data: {\"", "data: {\ndata: \"", 1),
                })
            },
            runner: None,
        },
        Case {
            name: "the stream starts with a progress event",
            fails: &["events.first-current"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.first-current",
                    rewrite: |text| text.replace("event: status", "event: progress"),
                })
            },
            runner: None,
        },
        Case {
            name: "a terminal job's event sent twice",
            fails: &["events.terminal"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.terminal",
                    rewrite: |text| format!("{text}{text}"),
                })
            },
            runner: None,
        },
        Case {
            name: "no canceled event before the stream of a deleted job ends",
            fails: &["events.deleted"],
            violation: || {
                Arc::new(Chunks {
                    check: "events.deleted",
                    rewrite: |text| {
                        text.split_inclusive("\n\n")
                            .filter(|event| !event.contains("\"status\":\"canceled\""))
                            .collect()
                    },
                })
            },
            runner: None,
        },
    ]
}
