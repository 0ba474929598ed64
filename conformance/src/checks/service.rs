//! Section 4: the service document.

use serde_json::Value;

use crate::check::{Check, Outcome};
use crate::context::Ctx;
use crate::ensure;

/// The checks of this section.
pub const CHECKS: &[Check] = &[Check {
    id: "service.document",
    title: "GET /v1 describes the server: name, versions, classes, limits, links",
    class: "core",
    requirements: &[
        "SVC-2", "SVC-3", "SVC-4", "SVC-5", "SVC-7", "SVC-8", "GEN-5",
    ],
    needs: &[],
    jobs: 0,
    exclusive: false,
    run: |ctx| Box::pin(document(ctx)),
}];

const LIMITS: &[&str] = &[
    "defaultTtlSeconds",
    "minTtlSeconds",
    "maxTtlSeconds",
    "maxWaitSeconds",
    "defaultTimeoutSeconds",
    "maxTimeoutSeconds",
    "maxBodyBytes",
    "maxInputBytes",
    "maxLogBytes",
    "queueSize",
    "workers",
    "maxAttempts",
    "maxPageSize",
];

async fn document(ctx: Ctx) -> Outcome {
    let response = ctx.get("/v1").send().await?;
    ensure!(
        response.status == 200,
        "SVC-2",
        "GET /v1 answered {}, expected 200",
        response.status
    );
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "GET /v1 has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    let doc = response.json_object("SVC-2")?;
    for (member, ok) in [
        ("name", doc["name"].is_string()),
        ("version", doc["version"].is_string()),
        ("protocolVersion", doc["protocolVersion"].is_string()),
        ("conformanceClasses", doc["conformanceClasses"].is_array()),
        ("limits", doc["limits"].is_object()),
        ("links", doc["links"].is_object()),
    ] {
        ensure!(
            ok,
            "SVC-2",
            "member `{member}` is missing or has the wrong type"
        );
    }
    ensure!(
        doc["protocolVersion"] == "1.0",
        "SVC-3",
        "protocolVersion is {}, expected \"1.0\"",
        doc["protocolVersion"]
    );
    let classes: Vec<&str> = doc["conformanceClasses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    ensure!(
        classes.len() == doc["conformanceClasses"].as_array().map_or(0, Vec::len),
        "SVC-2",
        "conformanceClasses holds something other than strings"
    );
    let mut unique = classes.clone();
    unique.sort_unstable();
    unique.dedup();
    ensure!(
        unique.len() == classes.len(),
        "SVC-2",
        "conformanceClasses has duplicates: {classes:?}"
    );
    ensure!(
        classes.contains(&"core"),
        "SVC-4",
        "conformanceClasses does not include core: {classes:?}"
    );
    let known = &crate::spec::spec().classes;
    if let Some(unknown) = classes.iter().find(|c| !known.iter().any(|k| k == *c)) {
        ensure!(
            false,
            "SVC-4",
            "conformanceClasses names {unknown:?}, which protocol 1.0 does not define"
        );
    }

    let limits = &doc["limits"];
    for name in LIMITS {
        ensure!(
            limits[name].is_u64(),
            "SVC-5",
            "limits.{name} is {}, expected a non-negative integer",
            limits[name]
        );
    }
    let l = |name: &str| limits[name].as_u64().unwrap_or(0);
    ensure!(
        1 <= l("minTtlSeconds")
            && l("minTtlSeconds") <= l("defaultTtlSeconds")
            && l("defaultTtlSeconds") <= l("maxTtlSeconds"),
        "SVC-5",
        "expected 1 <= minTtlSeconds <= defaultTtlSeconds <= maxTtlSeconds, got {}, {}, {}",
        l("minTtlSeconds"),
        l("defaultTtlSeconds"),
        l("maxTtlSeconds")
    );
    ensure!(
        1 <= l("defaultTimeoutSeconds") && l("defaultTimeoutSeconds") <= l("maxTimeoutSeconds"),
        "SVC-5",
        "expected 1 <= defaultTimeoutSeconds <= maxTimeoutSeconds, got {} and {}",
        l("defaultTimeoutSeconds"),
        l("maxTimeoutSeconds")
    );
    for name in LIMITS
        .iter()
        .filter(|n| !n.contains("Ttl") && !n.contains("Timeout") && **n != "maxWaitSeconds")
    {
        ensure!(
            l(name) >= 1,
            "SVC-5",
            "limits.{name} is {}, expected >= 1",
            l(name)
        );
    }

    ensure!(
        doc["urlGuard"]["privateNetworksAllowed"].is_boolean(),
        "SVC-8",
        "urlGuard.privateNetworksAllowed is {}, expected a boolean",
        doc["urlGuard"]["privateNetworksAllowed"]
    );

    let base = ctx.url("/v1");
    for (name, path) in [
        ("self", ""),
        ("operations", "/operations"),
        ("jobs", "/jobs"),
    ] {
        let link = doc["links"][name].as_str().unwrap_or("");
        ensure!(
            link.starts_with("http://") || link.starts_with("https://"),
            "SVC-7",
            "links.{name} is {:?}, expected an absolute URL",
            doc["links"][name]
        );
        ensure!(
            link.ends_with(&format!("/v1{path}")),
            "SVC-7",
            "links.{name} is {link:?}, expected the URL of /v1{path} (the suite reached /v1 at {base})"
        );
    }
    Ok(())
}
