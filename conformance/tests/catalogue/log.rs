//! Violations caught by the checks of `checks/log.rs`.

use std::sync::Arc;

use axum::body::Bytes;

use super::Case;
use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse};

/// Change the text of the log answers of `check`, line by line.
fn edit_log(
    check: &'static str,
    edit: fn(&str) -> Option<String>,
) -> impl Fn(&ProxyRequest, &mut ProxyResponse) + Send + Sync + 'static {
    move |req: &ProxyRequest, resp: &mut ProxyResponse| {
        if req.check() != check || !req.is("GET", "/v1/jobs/*/log") || resp.status != 200 {
            return;
        }
        let text = String::from_utf8_lossy(&resp.body).into_owned();
        let mut out = String::new();
        for line in text.lines() {
            if let Some(line) = edit(line) {
                out.push_str(&line);
                out.push('\n');
            }
        }
        resp.body = Bytes::from(out);
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "the log without charset",
            fails: &["log.states"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "log.states" && req.is("GET", "/v1/jobs/*/log") {
                            resp.set_header("content-type", "text/plain");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the log of an unknown job is an empty 200",
            fails: &["log.unknown"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "log.unknown" && req.is("GET", "/v1/jobs/*/log") {
                            resp.status = 200;
                            resp.body = Bytes::new();
                            resp.set_header("content-type", "text/plain; charset=utf-8");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "log times with +00:00 instead of Z",
            fails: &["log.format"],
            violation: || {
                Arc::new(OnResponse(edit_log("log.format", |line| {
                    Some(line.replacen("Z ", "+00:00 ", 1))
                })))
            },
            runner: None,
        },
        Case {
            name: "no log line for the start of the attempt",
            fails: &["log.format"],
            violation: || {
                Arc::new(OnResponse(edit_log("log.format", |line| {
                    (!line.contains("attempt")).then(|| line.to_owned())
                })))
            },
            runner: None,
        },
        Case {
            name: "a failure is not logged as ERROR",
            fails: &["log.failure"],
            violation: || {
                Arc::new(OnResponse(edit_log("log.failure", |line| {
                    Some(line.replacen(" ERROR ", " INFO ", 1))
                })))
            },
            runner: None,
        },
        Case {
            name: "the second line of a message without its prefix",
            fails: &["log.failure"],
            violation: || {
                Arc::new(OnResponse(edit_log("log.failure", |line| {
                    let message = line.splitn(3, ' ').nth(2).unwrap_or("");
                    Some(if message.starts_with("second line") {
                        message.to_owned()
                    } else {
                        line.to_owned()
                    })
                })))
            },
            runner: None,
        },
    ]
}
