//! Violations caught by the checks of `checks/probe.rs` (sections 20 and 21).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// A cancel whose answer comes late, as when the plugin ignores
/// `is-cancelled` and the runner waits for the next step.
struct SlowCancel;

impl Violation for SlowCancel {
    fn response(&self, request: &ProxyRequest, _response: &mut ProxyResponse) {
        if request.check() == "probe.cancel-stops" && request.is("POST", "/v1/jobs/*/cancel") {
            tokio::task::block_in_place(|| std::thread::sleep(Duration::from_secs(3)));
        }
    }
}

/// Change the JSON body of a start request of `check`.
fn edit_start(req: &mut ProxyRequest, check: &str, edit: impl FnOnce(&mut Value)) {
    if req.check() == check
        && req.is("POST", "/v1/operations/probe/jobs")
        && let Ok(mut body) = serde_json::from_slice::<Value>(&req.body)
    {
        edit(&mut body);
        req.body = body.to_string().into();
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "probe stages in another order",
            fails: &["probe.offered"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1/operations/probe") {
                            resp.edit_json(|op| {
                                op["stages"] = serde_json::json!(["work", "prepare", "finish"])
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "probe accepts resultBytes together with echoInput",
            fails: &["probe.params-schema"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_start(req, "probe.params-schema", |body| {
                        let params = &mut body["params"];
                        if params.get("resultBytes").is_some() && params.get("echoInput").is_some()
                        {
                            params.as_object_mut().map(|p| p.remove("echoInput"));
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "probe progress messages in another form",
            fails: &["probe.progress"],
            violation: || {
                edit_answers("probe.progress", ("GET", "/v1/jobs/*"), None, |doc| {
                    if let Some(m) = doc["progress"]["message"].as_str() {
                        let changed = m.replace(" of ", "/");
                        doc["progress"]["message"] = changed.into();
                    }
                })
            },
            runner: None,
        },
        Case {
            name: "a canceled probe keeps running until its step ends",
            fails: &["probe.cancel-stops"],
            violation: || Arc::new(SlowCancel),
            runner: None,
        },
        Case {
            name: "a failed probe loses its error code",
            fails: &["probe.fail"],
            violation: || {
                edit_answers("probe.fail", ("GET", "/v1/jobs/*"), None, |doc| {
                    if doc["error"].is_object() {
                        doc["error"]["code"] = "something-else".into();
                    }
                })
            },
            runner: None,
        },
        Case {
            name: "the probe's JSON echo changes a param",
            fails: &["probe.results"],
            violation: || {
                edit_answers(
                    "probe.results",
                    ("GET", "/v1/jobs/*/result"),
                    None,
                    |result| {
                        if result["echo"].is_object() {
                            result["echo"]["negative"] = 7.into();
                        }
                    },
                )
            },
            runner: None,
        },
        Case {
            name: "probe with echoInput and no data succeeds",
            fails: &["probe.echo-input-needs-data"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_start(req, "probe.echo-input-needs-data", |body| {
                        body["inputs"] = json!({"data": {"text": "slipped in"}});
                    });
                }))
            },
            runner: None,
        },
    ]
}
