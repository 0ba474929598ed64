//! Violations caught by the checks of `checks/list.rs` (section 11).

use std::sync::Arc;

use serde_json::{Value, json};

use super::Case;
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

/// Whether this is a `GET /v1/jobs` sent by `check`.
fn list_by(req: &ProxyRequest, check: &str) -> bool {
    req.check() == check && req.is("GET", "/v1/jobs")
}

/// Keep only the query parameters of the request for which `keep` holds.
fn filter_query(req: &mut ProxyRequest, keep: impl Fn(&str, &str) -> bool) {
    let Some((path, query)) = req.path.split_once('?') else {
        return;
    };
    let kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, v)| keep(k, v))
        .collect();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &kept {
        out.append_pair(k, v);
    }
    req.path = format!("{path}?{}", out.finish());
}

/// `url` without its query parameter `key`.
fn without_param(url: &str, key: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(kept);
    parsed.to_string()
}

pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "the list is oldest first",
            fails: &["list.page"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if list_by(req, "list.page") {
                            resp.edit_json(|page| {
                                if let Some(jobs) = page["jobs"].as_array_mut() {
                                    jobs.reverse();
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the list has no next member",
            fails: &["list.page"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if list_by(req, "list.page") {
                            resp.edit_json(|page| {
                                if let Some(map) = page.as_object_mut() {
                                    map.remove("next");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "the status filter is ignored",
            fails: &["list.filters"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if list_by(req, "list.filters") {
                        filter_query(req, |k, _| k != "status");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "createdAfter includes the job created at that time",
            fails: &["list.filters"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if !list_by(req, "list.filters") {
                        return;
                    }
                    // Move every createdAfter a millisecond earlier: the bound
                    // becomes inclusive for the jobs the check pivots on.
                    let Some((path, query)) = req.path.split_once('?') else {
                        return;
                    };
                    let pairs: Vec<(String, String)> =
                        url::form_urlencoded::parse(query.as_bytes())
                            .into_owned()
                            .map(|(k, v)| {
                                if k != "createdAfter" {
                                    return (k, v);
                                }
                                let earlier = time::OffsetDateTime::parse(
                                    &v,
                                    &time::format_description::well_known::Rfc3339,
                                )
                                .map(|t| {
                                    (t - time::Duration::milliseconds(1))
                                        .format(&time::format_description::well_known::Rfc3339)
                                        .unwrap_or(v.clone())
                                })
                                .unwrap_or(v);
                                (k, earlier)
                            })
                            .collect();
                    let mut out = url::form_urlencoded::Serializer::new(String::new());
                    for (k, v) in &pairs {
                        out.append_pair(k, v);
                    }
                    req.path = format!("{path}?{}", out.finish());
                }))
            },
            runner: None,
        },
        Case {
            name: "an unknown operation is an error",
            fails: &["list.filters"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if list_by(req, "list.filters") && req.path.contains("no-such-operation") {
                            resp.status = 404;
                            resp.set_header("content-type", "application/problem+json");
                            resp.set_json(&json!({
                                "type": "urn:longrun:problem:operation-not-found",
                                "title": "No such operation",
                                "status": 404,
                                "detail": "no such operation",
                            }));
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "bad list parameters are ignored",
            fails: &["list.bad-params"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if list_by(req, "list.bad-params") {
                        req.path = req.path_only().to_owned();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "a bad cursor starts from the top",
            fails: &["list.bad-params"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if list_by(req, "list.bad-params") && req.path.contains("cursor=") {
                        req.path = req.path_only().to_owned();
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "next drops the status filter",
            fails: &["list.paging"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if !list_by(req, "list.paging") {
                            return;
                        }
                        let mut next = None;
                        resp.edit_json(|page| {
                            if let Some(url) = page["next"].as_str() {
                                let url = without_param(url, "status");
                                page["next"] = json!(url);
                                next = Some(url);
                            }
                        });
                        if let Some(next) = next {
                            resp.set_header("link", &format!("<{next}>; rel=\"next\""));
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "no Link header with rel=next",
            fails: &["list.paging"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if list_by(req, "list.paging") {
                            resp.remove_header("link");
                        }
                    },
                ))
            },
            runner: None,
        },
        Case {
            name: "pages larger than the limit",
            fails: &["list.paging"],
            violation: || {
                Arc::new(OnRequest(|req: &mut ProxyRequest| {
                    if list_by(req, "list.paging") {
                        filter_query(req, |k, _| k != "limit");
                    }
                }))
            },
            runner: None,
        },
        Case {
            name: "listed documents differ from GET",
            fails: &["list.documents"],
            violation: || {
                Arc::new(OnResponse(
                    |req: &ProxyRequest, resp: &mut ProxyResponse| {
                        if list_by(req, "list.documents") {
                            resp.edit_json(|page| {
                                for doc in page["jobs"].as_array_mut().into_iter().flatten() {
                                    doc["progress"]["message"] = Value::from("listed");
                                }
                            });
                        }
                    },
                ))
            },
            runner: None,
        },
    ]
}
