//! Violations caught by the checks of `checks/inputs.rs` (section 6.2).

use std::sync::Arc;

use serde_json::{Value, json};

use super::Case;
use super::create::{edit_request_json, is_start, make_problem};
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

/// Apply `edit` to every input value of a start request of `check`.
fn edit_inputs(req: &mut ProxyRequest, check: &str, edit: impl Fn(&str, &mut Value)) {
    if req.check() == check && is_start(req) {
        edit_request_json(req, |body| {
            if let Some(inputs) = body.get_mut("inputs").and_then(Value::as_object_mut) {
                for (name, value) in inputs.iter_mut() {
                    edit(name, value);
                }
            }
        });
    }
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "json inputs are passed pretty-printed",
            fails: &["inputs.kinds"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.kinds", |_, value| {
                        if let Some(v) = value.get("json").cloned() {
                            let pretty = serde_json::to_string_pretty(&v).expect("JSON");
                            *value = json!({"text": pretty, "mediaType": "application/json"});
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "text inputs arrive as text/plain without charset",
            fails: &["inputs.kinds"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.kinds", |_, value| {
                        if value.get("text").is_some() {
                            value["mediaType"] = json!("text/plain");
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "the mediaType member is ignored",
            fails: &["inputs.media-type-override"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.media-type-override", |_, value| {
                        if let Some(map) = value.as_object_mut() {
                            map.remove("mediaType");
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "an invalid mediaType is accepted",
            fails: &["inputs.media-type-override"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.media-type-override", |_, value| {
                        if value["mediaType"].as_str().is_some_and(|m| {
                            !m.contains('/') || m.ends_with('/') || m.starts_with('/')
                        }) {
                            value["mediaType"] = json!("application/octet-stream");
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "malformed input values are ignored",
            fails: &["inputs.malformed"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "inputs.malformed" && is_start(req) {
                        edit_request_json(req, |body| body["inputs"] = json!({}));
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "undeclared inputs are ignored",
            fails: &["inputs.unknown-name"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if req.check() == "inputs.unknown-name" && is_start(req) {
                        edit_request_json(req, |body| body["inputs"] = json!({}));
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "invalid-inputs names only the first failing input",
            fails: &["inputs.unknown-name"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "inputs.unknown-name" && is_start(req) {
                            resp.edit_json(|p| {
                                if let Some(errors) = p["errors"].as_array_mut() {
                                    errors.truncate(1);
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "invalid-inputs without errors",
            fails: &["inputs.required"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "inputs.required" && is_start(req) {
                            resp.edit_json(|p| {
                                if let Some(map) = p.as_object_mut() {
                                    map.remove("errors");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a missing required input is a plugin failure, not invalid-inputs",
            fails: &["inputs.required"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "inputs.required" && is_start(req) && resp.status == 422 {
                            make_problem(resp, 422, "invalid-params");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "declared media types are not enforced",
            fails: &["inputs.declared-media-types"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.declared-media-types", |_, value| {
                        if let Some(text) = value.get("text").cloned() {
                            *value = json!({"json": text});
                        }
                        value["mediaType"] = json!("application/json");
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "declared media types are compared case-sensitively",
            fails: &["inputs.declared-media-types"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                        let upper = body["inputs"].as_object().is_some_and(|inputs| {
                            inputs.values().any(|v| {
                                v["mediaType"]
                                    .as_str()
                                    .is_some_and(|m| m.chars().any(|c| c.is_ascii_uppercase()))
                            })
                        });
                        if req.check() == "inputs.declared-media-types" && is_start(req) && upper {
                            resp.remove_header("location");
                            make_problem(resp, 422, "invalid-inputs");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "unpadded base64 is accepted",
            fails: &["inputs.invalid-values"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.invalid-values", |_, value| {
                        if value.get("base64").is_some() {
                            value["base64"] = json!("YWJj");
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "an input over maxInputBytes is refused as invalid-inputs, not 413",
            fails: &["inputs.invalid-values"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "inputs.invalid-values"
                            && is_start(req)
                            && resp.status == 413
                        {
                            make_problem(resp, 422, "invalid-inputs");
                        }
                    },
                ))
            },
            runner: Some(|config| config.limits.max_input_bytes = 16 * 1024),
        },
        Case {
            name: "a failed url fetch is answered 502",
            fails: &["inputs.url"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if req.check() == "inputs.url"
                            && is_start(req)
                            && resp
                                .json()
                                .is_some_and(|p| p["type"] == "urn:longrun:problem:invalid-inputs")
                        {
                            make_problem(resp, 502, "bad-gateway");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "a url input's Content-Type is taken from its path",
            fails: &["inputs.url"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.url", |_, value| {
                        if value.get("url").is_some() && value.get("mediaType").is_none() {
                            value["mediaType"] = json!("text/html");
                        }
                    });
                }))
            },
            runner: None,
        },
        Case {
            name: "file inputs are not checked",
            fails: &["inputs.file-path"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    edit_inputs(req, "inputs.file-path", |_, value| {
                        if value.get("file").is_some() {
                            *value = json!({"text": "read from the file"});
                        }
                    });
                }))
            },
            runner: None,
        },
    ]
}
