//! Violations caught by the checks of `checks/callbacks.rs`.
//!
//! Most break a delivery on its way: the proxy relays the callback URLs of
//! start requests through itself ([`Violation::relays_callbacks`]) and changes
//! an attempt before it reaches the receiver, or the receiver's answer before
//! the runner sees it. The others change start requests (what the runner is
//! asked for) or the job documents and other answers the suite reads.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Case, edit_answers};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse, Violation};

/// Change delivery attempts on their way to the receiver (or answer them
/// here by returning a status).
struct Attempts<F>(F);

impl<F> Violation for Attempts<F>
where
    F: Fn(usize, &mut ProxyRequest) -> Option<u16> + Send + Sync + 'static,
{
    fn relays_callbacks(&self) -> bool {
        true
    }

    fn callback_request(&self, attempt: usize, request: &mut ProxyRequest) -> Option<u16> {
        (self.0)(attempt, request)
    }
}

/// Change the receiver's answers before the runner sees them.
struct Answers<F>(F);

impl<F> Violation for Answers<F>
where
    F: Fn(usize, &mut u16) + Send + Sync + 'static,
{
    fn relays_callbacks(&self) -> bool {
        true
    }

    fn callback_response(&self, attempt: usize, status: &mut u16) {
        (self.0)(attempt, status)
    }
}

/// Whether the request is a start request sent by `check`.
fn start_by(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("POST", "/v1/operations/*/jobs")
}

/// Whether the request reads a job document for `check`.
fn job_read_by(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("GET", "/v1/jobs/*")
}

/// Change the JSON body of a start request or a delivery attempt.
fn edit_body(req: &mut ProxyRequest, edit: impl FnOnce(&mut Value)) {
    if let Ok(mut body) = serde_json::from_slice::<Value>(&req.body) {
        edit(&mut body);
        req.body = body.to_string().into();
    }
}

/// A timestamp member moved by `millis` (GEN-2 form).
fn shifted(value: &Value, millis: i64) -> Option<Value> {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let t = time::OffsetDateTime::parse(
        value.as_str()?,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    let t = t + time::Duration::milliseconds(millis);
    Some(Value::String(t.format(&format).ok()?))
}

/// Re-signs the attempts of jobs with a `whsec_` secret under the text of the
/// secret instead of the key it encodes (CALLBACK-5).
#[derive(Default)]
struct TextKey {
    secrets: Mutex<HashMap<String, String>>,
}

impl Violation for TextKey {
    fn relays_callbacks(&self) -> bool {
        true
    }

    fn response(&self, req: &ProxyRequest, resp: &mut ProxyResponse) {
        if !req.is("POST", "/v1/operations/*/jobs") || resp.status != 202 {
            return;
        }
        let secret = serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|b| b["callback"]["secret"].as_str().map(str::to_owned));
        let id = resp
            .json()
            .and_then(|d| d["id"].as_str().map(str::to_owned));
        if let (Some(secret), Some(id)) = (secret, id) {
            self.secrets.lock().expect("lock").insert(id, secret);
        }
    }

    fn callback_request(&self, _attempt: usize, req: &mut ProxyRequest) -> Option<u16> {
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (id, ts) = (header("webhook-id"), header("webhook-timestamp"));
        let secret = self
            .secrets
            .lock()
            .expect("lock")
            .get(id.trim_start_matches("msg_"))
            .cloned();
        if let Some(secret) = secret.filter(|s| s.starts_with("whsec_")) {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
            mac.update(format!("{id}.{ts}.").as_bytes());
            mac.update(&req.body);
            let signature = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
            req.headers.insert(
                "webhook-signature",
                signature.parse().expect("a header value"),
            );
        }
        None
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "limits.callbacks.defaultMaxAttempts above maxAttempts",
            fails: &["callbacks.limits"],
            violation: || {
                edit_answers("callbacks.limits", ("GET", "/v1"), None, |doc| {
                    let max = doc["limits"]["callbacks"]["maxAttempts"]
                        .as_u64()
                        .unwrap_or(20);
                    doc["limits"]["callbacks"]["defaultMaxAttempts"] = json!(max + 1);
                })
            },
            runner: None,
        },
        Case {
            name: "a callback of the wrong JSON type answered 422 instead of 400",
            fails: &["callbacks.malformed"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if start_by(req, "callbacks.malformed") && resp.status == 400 {
                            resp.status = 422;
                            resp.edit_json(|p| {
                                p["type"] = json!("urn:longrun:problem:invalid-request");
                                p["title"] = json!("The request is invalid");
                                p["status"] = json!(422);
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "retry.maxAttempts above the bound accepted",
            fails: &["callbacks.bounds"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if start_by(req, "callbacks.bounds") {
                        edit_body(req, |body| {
                            if body["callback"]["retry"]["maxAttempts"] == 21 {
                                body["callback"]["retry"]["maxAttempts"] = json!(20);
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "limits.callbacks.maxAttempts understated (the server enforces 20, says 10)",
            fails: &["callbacks.bounds"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| {
                                doc["limits"]["callbacks"]["maxAttempts"] = json!(10)
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a refused callback URL answered with an errors member",
            fails: &["callbacks.url-refused"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if start_by(req, "callbacks.url-refused") && resp.status == 422 {
                            resp.edit_json(|p| {
                                p["errors"] = json!([{"input": "callback", "message": "refused"}])
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "claims to refuse private networks but accepts a loopback callback URL",
            fails: &["callbacks.url-refused"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.is("GET", "/v1") {
                            resp.edit_json(|doc| {
                                doc["urlGuard"]["privateNetworksAllowed"] = json!(false)
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "callback.maxAttempts is not the default when retry is absent",
            fails: &["callbacks.defaults"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if start_by(req, "callbacks.defaults") {
                            resp.edit_json(|doc| {
                                if let Some(n) = doc["callback"]["maxAttempts"].as_u64() {
                                    doc["callback"]["maxAttempts"] = json!(n + 1);
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the default initial interval not applied (1 s instead)",
            fails: &["callbacks.defaults"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if start_by(req, "callbacks.defaults") {
                        edit_body(req, |body| {
                            if let Some(retry) = body
                                .pointer_mut("/callback/retry")
                                .filter(|r| r["maxAttempts"] == 2)
                            {
                                retry["initialIntervalSeconds"] = json!(1);
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a job without a callback shows callback: null",
            fails: &["callbacks.document-member"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "callbacks.document-member" {
                            resp.edit_json(|doc| {
                                if doc.get("id").is_some() && doc.get("callback").is_none() {
                                    doc["callback"] = Value::Null;
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a queued job's callback shown delivered",
            fails: &["callbacks.document-member"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if start_by(req, "callbacks.document-member") {
                            resp.edit_json(|doc| {
                                if doc["callback"].is_object() {
                                    doc["callback"]["state"] = json!("delivered");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the event sent as text/plain",
            fails: &["callbacks.delivery-succeeded"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    req.headers.insert(
                        "content-type",
                        "text/plain".parse().expect("a header value"),
                    );
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "relative URLs in the event's data",
            fails: &["callbacks.delivery-succeeded"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    edit_body(req, |event| {
                        let id = event["data"]["id"].as_str().unwrap_or("").to_owned();
                        event["data"]["links"]["self"] = json!(format!("/v1/jobs/{id}"));
                    });
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "a failed job delivered as job.succeeded",
            fails: &["callbacks.delivery-failed"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    edit_body(req, |event| event["type"] = json!("job.succeeded"));
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "a canceled job delivered as job.cancelled",
            fails: &["callbacks.delivery-canceled"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    edit_body(req, |event| {
                        if event["type"] == "job.canceled" {
                            event["type"] = json!("job.cancelled");
                        }
                    });
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "a GET callback sent as POST",
            fails: &["callbacks.get-method"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    req.method = axum::http::Method::POST;
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "a GET callback without jobId",
            fails: &["callbacks.get-method"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    req.path = req.path_only().to_owned();
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "whsec_ secrets used as text keys",
            fails: &["callbacks.signatures"],
            violation: || Arc::new(TextKey::default()),
            runner: None,
        },
        Case {
            name: "a corrupted signature",
            fails: &["callbacks.signatures"],
            violation: || {
                Arc::new(Attempts(|_, req: &mut ProxyRequest| {
                    if req.headers.contains_key("webhook-signature") {
                        req.headers.insert(
                            "webhook-signature",
                            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
                                .parse()
                                .expect("a header value"),
                        );
                    }
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "exponential backoff applied as fixed",
            fails: &["callbacks.retry-exponential"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if start_by(req, "callbacks.retry-exponential") {
                        edit_body(req, |body| {
                            if let Some(retry) = body.pointer_mut("/callback/retry") {
                                retry["backoff"] = json!("fixed");
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a callback never retried (a 500 taken for a 200)",
            fails: &["callbacks.retry-exponential"],
            violation: || {
                Arc::new(Answers(|attempt, status: &mut u16| {
                    if attempt == 0 && *status == 500 {
                        *status = 200;
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a new webhook-id on the second attempt",
            fails: &["callbacks.retry-exponential"],
            violation: || {
                Arc::new(Attempts(|attempt, req: &mut ProxyRequest| {
                    if attempt == 1 {
                        req.headers
                            .insert("webhook-id", "msg_other".parse().expect("a header value"));
                    }
                    None
                }))
            },
            runner: None,
        },
        Case {
            name: "a fixed interval applied as 3 s instead of 1 s",
            fails: &["callbacks.retry-fixed"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if start_by(req, "callbacks.retry-fixed") {
                        edit_body(req, |body| {
                            if let Some(retry) = body.pointer_mut("/callback/retry") {
                                retry["initialIntervalSeconds"] = json!(3);
                            }
                        });
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "Retry-After not honoured in the schedule (nextAttemptAt too early)",
            fails: &["callbacks.retry-after"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "callbacks.retry-after") {
                            resp.edit_json(|doc| {
                                if let Some(cb) = doc.get_mut("callback")
                                    && cb["state"] == "pending"
                                    && cb["attempts"] == 1
                                    && let Some(earlier) = shifted(&cb["nextAttemptAt"], -1500)
                                {
                                    cb["nextAttemptAt"] = earlier;
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "410 Gone taken for a failed attempt",
            fails: &["callbacks.gone-stops"],
            violation: || {
                Arc::new(Answers(|_, status: &mut u16| {
                    if *status == 410 {
                        *status = 500;
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the last failed attempt taken for a delivery",
            fails: &["callbacks.attempts-exhausted"],
            violation: || {
                Arc::new(Answers(|attempt, status: &mut u16| {
                    if attempt == 1 {
                        *status = 200;
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "no lastError after a timed-out attempt",
            fails: &["callbacks.timeout"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "callbacks.timeout") {
                            resp.edit_json(|doc| {
                                if doc["callback"].is_object() {
                                    doc["callback"]["lastError"] = Value::Null;
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a 302 followed to a success",
            fails: &["callbacks.redirect-not-followed"],
            violation: || {
                Arc::new(Answers(|_, status: &mut u16| {
                    if *status == 302 {
                        *status = 204;
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "the end of a delivery changes the job's progress",
            fails: &["callbacks.outcome-keeps-job"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "callbacks.outcome-keeps-job") {
                            resp.edit_json(|doc| {
                                if doc["callback"]["state"]
                                    .as_str()
                                    .is_some_and(|s| s != "pending")
                                {
                                    doc["progress"]["message"] = json!("callback delivered");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the job shown running until its callback attempt ends",
            fails: &["callbacks.no-hold-up"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if job_read_by(req, "callbacks.no-hold-up") {
                            resp.edit_json(|doc| {
                                if doc["callback"]["state"] == "pending"
                                    && doc["callback"]["attempts"] == 0
                                {
                                    doc["status"] = json!("running");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the 202 echoes the callback secret",
            fails: &["callbacks.secret-hidden"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if start_by(req, "callbacks.secret-hidden") && resp.status == 202 {
                            let secret = serde_json::from_slice::<Value>(&req.body)
                                .ok()
                                .map(|b| b["callback"]["secret"].clone())
                                .unwrap_or(Value::Null);
                            resp.edit_json(|doc| doc["callback"]["secret"] = secret);
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the callback form field of a multipart request refused",
            fails: &["callbacks.multipart"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if start_by(req, "callbacks.multipart") {
                        let body = String::from_utf8_lossy(&req.body)
                            .replace("name=\"callback\"", "name=\"callbacks\"");
                        req.body = body.into();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a job expires while its delivery is pending",
            fails: &["callbacks.expiry-pending"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "callbacks.expiry-pending"
                            && (req.is("GET", "/v1/jobs/*/events")
                                || req.is("GET", "/v1/jobs/*/log"))
                            && resp.status == 200
                        {
                            resp.status = 404;
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "CALLBACK log lines in another wording",
            fails: &["callbacks.log-lines"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "callbacks.log-lines" && req.is("GET", "/v1/jobs/*/log") {
                            let text = String::from_utf8_lossy(&resp.body)
                                .replace("; next attempt at", ", next attempt at");
                            resp.body = text.into();
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
