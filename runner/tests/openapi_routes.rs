//! The routes the runner serves agree with `spec/openapi.yaml`: the spec's
//! (method, path) pairs are exactly `longrun::api::ROUTES`, and a real server
//! answers each of them (not with the fallback `404 not-found` nor `405`), while
//! other methods on those paths get `405` with an `Allow` header.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use longrun::api::ROUTES;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Server, assert_problem, client};

/// The HTTP methods an OpenAPI path item may describe.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The other fields a path item may have (OpenAPI 3.1, section 4.8.9).
const PATH_ITEM_FIELDS: [&str; 5] = ["$ref", "summary", "description", "servers", "parameters"];

/// The (method, path) pairs of the spec.
fn spec_routes() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/openapi.yaml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let spec: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parse {path}: {e}"));
    let paths = spec["paths"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{path} has no `paths` object"));
    let mut routes = BTreeSet::new();
    for (route, item) in paths {
        let route = route.as_str().expect("a path is a string");
        let item = item
            .as_mapping()
            .unwrap_or_else(|| panic!("the path item {route} is not an object"));
        for key in item.keys() {
            let key = key.as_str().expect("a path item key is a string");
            if METHODS.contains(&key) {
                routes.insert((key.to_owned(), route.to_owned()));
            } else {
                assert!(
                    PATH_ITEM_FIELDS.contains(&key),
                    "{route} has `{key}`, which is neither an HTTP method nor a path item field"
                );
            }
        }
    }
    routes
}

#[test]
fn the_spec_and_routes_list_the_same_endpoints() {
    let spec = spec_routes();
    let code: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(code.len(), ROUTES.len(), "ROUTES lists an endpoint twice");
    for (method, _) in &code {
        assert!(
            METHODS.contains(&method.as_str()),
            "ROUTES has the method `{method}`, which is not a lowercase HTTP method"
        );
    }
    let missing_in_code: Vec<_> = spec.difference(&code).collect();
    let missing_in_spec: Vec<_> = code.difference(&spec).collect();
    assert!(
        missing_in_code.is_empty() && missing_in_spec.is_empty(),
        "spec/openapi.yaml and longrun::api::ROUTES disagree\n  \
         in the spec but not in ROUTES: {missing_in_code:?}\n  \
         in ROUTES but not in the spec: {missing_in_spec:?}"
    );
}

/// `path` with `{op}` and `{id}` filled in.
fn concrete(path: &str, id: &str) -> String {
    path.replace("{op}", "probe").replace("{id}", id)
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.to_ascii_uppercase().as_bytes()).unwrap()
}

/// A finished probe job to address.
fn finished_job(server: &Server) -> String {
    let doc = server.started("probe", &json!({"params": {"steps": 1}}));
    let id = doc["id"].as_str().unwrap().to_owned();
    server.finished(&id);
    id
}

#[test]
fn the_router_serves_every_route() {
    let server = Server::start();

    // The check below can tell a missing route: an unknown path is the fallback 404.
    let response = server.get("/v1/no-such-thing").send().unwrap();
    assert_problem(response, 404, "not-found");

    for (name, path) in ROUTES {
        // Each route gets a job of its own, so a DELETE affects no other route.
        let id = finished_job(&server);
        let url = server.url(&concrete(path, &id));
        let mut request = client().request(method(name), &url);
        if *name == "post" {
            request = request.json(&json!({}));
        }
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let problem: Option<Value> = if content_type == "application/problem+json" {
            response.json().ok()
        } else {
            None
        };
        let problem_type = problem
            .as_ref()
            .and_then(|p| p["type"].as_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            !(status == 404 && problem_type == "urn:longrun:problem:not-found"),
            "{} {url}: the router does not serve this route (404 not-found)",
            name.to_uppercase()
        );
        assert_ne!(
            status,
            405,
            "{} {url}: the router does not take this method (405 {problem:?})",
            name.to_uppercase()
        );
    }
}

#[test]
fn other_methods_are_405_with_allow() {
    let server = Server::start();
    let id = finished_job(&server);

    let mut methods_by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, path) in ROUTES {
        methods_by_path.entry(path).or_default().insert(name);
    }
    for (path, methods) in methods_by_path {
        for other in ["put", "patch", "post", "delete"] {
            if methods.contains(other) {
                continue;
            }
            let url = server.url(&concrete(path, &id));
            let response = client().request(method(other), &url).send().unwrap();
            assert_eq!(response.status(), 405, "{other} {url}");
            let allow = response
                .headers()
                .get("allow")
                .map(|v| v.to_str().unwrap().to_ascii_lowercase())
                .unwrap_or_else(|| panic!("{other} {url}: 405 without an Allow header"));
            let problem = assert_problem(response, 405, "method-not-allowed");
            let allowed: BTreeSet<&str> = allow.split(',').map(str::trim).collect();
            for method in &methods {
                assert!(
                    allowed.contains(method),
                    "{other} {url}: Allow `{allow}` does not name {method}: {problem}"
                );
            }
            assert!(
                !allowed.contains(other),
                "{other} {url}: Allow `{allow}` names the refused method"
            );
        }
    }
}
