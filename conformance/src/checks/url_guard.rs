//! Section 19: the outbound URL guard, for `url` inputs.
//!
//! - `url_guard.refused-urls`: URLs that are not absolute, not `http(s)`, have
//!   no host or carry credentials are refused (URL-GUARD-1);
//! - `url_guard.loopback-spellings`: on a server that refuses private networks,
//!   every spelling of a loopback address (decimal, hexadecimal and octal IPv4,
//!   short forms, IPv6, IPv4-mapped IPv6, `localhost`, `0.0.0.0`) and a name that
//!   does not resolve are refused, and the suite's receiver, which they point
//!   at, never sees a request (URL-GUARD-2, URL-GUARD-9);
//! - `url_guard.no-redirects`: a `3xx` answer fails the input and the redirect
//!   target is never fetched (URL-GUARD-4);
//! - `url_guard.size-bound`: an endless body is cut off at the input limit and
//!   answered `413` (URL-GUARD-5).
//!
//! The last two need the server to reach the suite: they serve the URLs from
//! a small origin server of their own, next to the callback receiver, and are
//! skipped when the server may not reach it (private networks refused).
//! The guard for callback URLs (URL-GUARD-6 to URL-GUARD-8) is checked with the
//! callbacks.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response as HttpResponse;
use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "url_guard.refused-urls",
        title: "URL inputs that are not absolute http(s) URLs with a host and no credentials are refused",
        class: "core",
        requirements: &["URL-GUARD-1", "ERR-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(refused_urls(ctx)),
    },
    Check {
        id: "url_guard.loopback-spellings",
        title: "every spelling of a loopback address is refused without a request being sent",
        class: "core",
        requirements: &["URL-GUARD-2", "URL-GUARD-9"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(loopback_spellings(ctx)),
    },
    Check {
        id: "url_guard.no-redirects",
        title: "a URL input answered with a redirect fails and the target is not fetched",
        class: "core",
        requirements: &["URL-GUARD-4", "JOB-INPUT-10"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(no_redirects(ctx)),
    },
    Check {
        id: "url_guard.size-bound",
        title: "the fetch of an endless URL input stops at the input limit with 413",
        class: "core",
        requirements: &["URL-GUARD-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(size_bound(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[(
    "URL-GUARD-3",
    "whether the server connects only to the address it checked needs a name whose resolution \
     the suite controls (DNS rebinding), which a client cannot arrange",
)];

/// Start a probe job whose input `data` is the URL `url`.
async fn start_with_url(ctx: &Ctx, url: &str) -> Result<Response, Finding> {
    let body = json!({"params": {"steps": 1}, "inputs": {"data": {"url": url}}});
    let response = ctx.start(ctx.probe(), &body).await?;
    ctx.track_created(&response);
    Ok(response)
}

/// The answer must be `422 url-not-allowed` naming input `data`.
fn expect_url_not_allowed(response: &Response, url: &str, requirement: &'static str) -> Outcome {
    let kind = response.problem_kind();
    if response.status != 422 || kind.as_deref() != Some("url-not-allowed") {
        return Err(Finding::violation(
            requirement,
            format!(
                "the url input {url:?} must be refused with 422 url-not-allowed; got {} {}",
                response.status,
                show_body(&response.body)
            ),
        ));
    }
    let doc = response.json().unwrap_or(Value::Null);
    let errors = doc["errors"].as_array().cloned().unwrap_or_default();
    ensure!(
        errors
            .iter()
            .any(|e| e["input"] == "data" && e["message"].is_string()),
        "ERR-6",
        "the url-not-allowed problem for input data must list {{\"input\": \"data\", \"message\": …}} \
         in `errors`; got {}",
        doc["errors"]
    );
    Ok(())
}

async fn refused_urls(ctx: Ctx) -> Outcome {
    // Credentials on a URL the server could otherwise fetch (the receiver).
    let endpoint = ctx.receiver().endpoint(ctx.check_id(), vec![]);
    let path = url::Url::parse(&endpoint.url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let port = ctx.receiver().bound().port();
    let urls = [
        "ftp://conformance.invalid/data".to_owned(),
        "file:///etc/passwd".to_owned(),
        "gopher://conformance.invalid/".to_owned(),
        "data:text/plain,hello".to_owned(),
        "javascript:alert(1)".to_owned(),
        "not a url".to_owned(),
        "/relative/path".to_owned(),
        "//conformance.invalid/no-scheme".to_owned(),
        "http://".to_owned(),
        "http://[::1".to_owned(),
        format!("http://user:secret@127.0.0.1:{port}{path}"),
        format!("http://user@127.0.0.1:{port}{path}"),
    ];
    for url in &urls {
        let response = start_with_url(&ctx, url).await?;
        expect_url_not_allowed(&response, url, "URL-GUARD-1")?;
    }
    Ok(())
}

async fn loopback_spellings(ctx: Ctx) -> Outcome {
    match ctx.server().private_networks_allowed {
        Some(false) => {}
        Some(true) => {
            return Err(Finding::skip(
                "the server allows private networks (urlGuard.privateNetworksAllowed is true), \
                 so loopback URLs are allowed; run against a server that refuses them",
            ));
        }
        None => {
            return Err(Finding::skip(
                "the service document does not say whether private networks are allowed",
            ));
        }
    }
    let endpoint = ctx.receiver().endpoint(ctx.check_id(), vec![]);
    let path = url::Url::parse(&endpoint.url)
        .map(|u| u.path().to_owned())
        .unwrap_or_default();
    let port = ctx.receiver().bound().port();
    let hosts = [
        "127.0.0.1",
        "2130706433",
        "0x7f.0.0.1",
        "0x7f000001",
        "0177.0.0.1",
        "017700000001",
        "127.1",
        "[::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "localhost",
        "0.0.0.0",
        "0",
    ];
    for host in hosts {
        let url = format!("http://{host}:{port}{path}");
        let response = start_with_url(&ctx, &url).await?;
        expect_url_not_allowed(&response, &url, "URL-GUARD-9")?;
    }
    let url = "http://conformance-unresolvable.invalid/data";
    let response = start_with_url(&ctx, url).await?;
    expect_url_not_allowed(&response, url, "URL-GUARD-2")?;

    // The fetch happens before the answer, so any request has arrived by now.
    let attempts = endpoint.attempts();
    ensure!(
        attempts.is_empty(),
        "URL-GUARD-2",
        "the receiver at port {port} got {} request(s) for refused loopback URLs; the server must \
         not send any request to a refused address",
        attempts.len()
    );
    Ok(())
}

/// What the origin serves, and what it saw.
struct OriginState {
    base: String,
    hits: Mutex<Vec<String>>,
    served: AtomicU64,
    stop: AtomicBool,
}

/// A small HTTP server of the check's own, serving URL inputs:
/// `/redirect` (`302` to `/target`), `/target` (`200`) and `/endless` (an
/// endless `200` body).
struct Origin {
    state: Arc<OriginState>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
        self.task.abort();
    }
}

impl Origin {
    /// Start it next to the callback receiver, where the server can reach the
    /// suite, or say why the check cannot run.
    async fn start(ctx: &Ctx) -> Result<Origin, Finding> {
        let receiver = ctx.receiver();
        // The server may not reach the receiver's (private) address.
        if let Err(Finding::Skip(_)) = ctx.callback_endpoint(vec![]) {
            return Err(Finding::skip(format!(
                "the server refuses private networks (urlGuard.privateNetworksAllowed is false) \
                 and the suite serves URL inputs next to its receiver at {}, a private address; \
                 allow private networks on the server or give --callback-url a public address",
                receiver.advertised()
            )));
        }
        let advertised = url::Url::parse(receiver.advertised())
            .map_err(|e| Finding::error(format!("the receiver's URL does not parse: {e}")))?;
        let bound = receiver.bound();
        if advertised.port_or_known_default() != Some(bound.port()) {
            return Err(Finding::skip(format!(
                "the receiver is advertised at {} but listens on port {}; the suite cannot tell \
                 at which address the server would reach another port of it",
                receiver.advertised(),
                bound.port()
            )));
        }
        let host = advertised
            .host_str()
            .ok_or_else(|| Finding::error("the receiver's URL has no host"))?
            .to_owned();
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(bound.ip(), 0))
            .await
            .map_err(|e| Finding::error(format!("the origin server cannot listen: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| Finding::error(format!("the origin server has no address: {e}")))?
            .port();
        let state = Arc::new(OriginState {
            base: format!("http://{host}:{port}"),
            hits: Mutex::new(Vec::new()),
            served: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Origin { state, task })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.state.base)
    }

    fn hits(&self) -> Vec<String> {
        self.state.hits.lock().expect("hits lock").clone()
    }
}

async fn serve(State(state): State<Arc<OriginState>>, request: Request) -> HttpResponse {
    let path = request.uri().path().to_owned();
    state.hits.lock().expect("hits lock").push(path.clone());
    let builder = axum::http::Response::builder();
    match path.as_str() {
        "/redirect" => builder
            .status(302)
            .header("location", format!("{}/target", state.base))
            .body(Body::empty()),
        "/target" => builder
            .status(200)
            .header("content-type", "text/plain")
            .body(Body::from("the redirect target")),
        "/endless" => {
            const CHUNK: usize = 64 * 1024;
            static ZEROS: [u8; CHUNK] = [0; CHUNK];
            let state = state.clone();
            let stream = futures::stream::unfold((), move |()| {
                let state = state.clone();
                async move {
                    if state.stop.load(Ordering::Relaxed) {
                        return None;
                    }
                    state.served.fetch_add(CHUNK as u64, Ordering::Relaxed);
                    Some((Ok::<_, std::io::Error>(Bytes::from_static(&ZEROS)), ()))
                }
            });
            builder
                .status(200)
                .header("content-type", "application/octet-stream")
                .body(Body::from_stream(stream))
        }
        _ => builder.status(404).body(Body::empty()),
    }
    .expect("a response")
}

async fn no_redirects(ctx: Ctx) -> Outcome {
    let origin = Origin::start(&ctx).await?;
    let url = origin.url("/redirect");
    let response = start_with_url(&ctx, &url).await?;
    let hits = origin.hits();
    if !hits.iter().any(|h| h == "/redirect") {
        return Err(Finding::error(format!(
            "the server never fetched {url} (it answered {} {}); it cannot reach the suite's \
             origin server next to the callback receiver",
            response.status,
            show_body(&response.body)
        )));
    }
    ensure!(
        !hits.iter().any(|h| h == "/target"),
        "URL-GUARD-4",
        "the url input {url} answered 302 to {}, and the server followed the redirect",
        origin.url("/target")
    );
    ensure!(
        response.status == 422 && response.problem_kind().as_deref() == Some("invalid-inputs"),
        "URL-GUARD-4",
        "the url input {url} answered 302; the input must fail with 422 invalid-inputs; got {} {}",
        response.status,
        show_body(&response.body)
    );
    Ok(())
}

async fn size_bound(ctx: Ctx) -> Outcome {
    let limit = ctx.limits().max_input_bytes;
    if limit > 256 << 20 {
        return Err(Finding::skip(format!(
            "limits.maxInputBytes is {limit}; the suite streams past the input limit only when it \
             is at most 256 MiB"
        )));
    }
    let origin = Origin::start(&ctx).await?;
    let url = origin.url("/endless");
    let body = json!({"params": {"steps": 1}, "inputs": {"data": {"url": url}}});
    let within = ctx.timeouts().request + ctx.timeouts().scale(Duration::from_secs(20));
    let response = ctx
        .post_json(&format!("/v1/operations/{}/jobs", ctx.probe()), &body)
        .timeout(within)
        .send_within(within, Some("URL-GUARD-5"))
        .await?;
    ctx.track_created(&response);
    if !origin.hits().iter().any(|h| h == "/endless") {
        return Err(Finding::error(format!(
            "the server never fetched {url} (it answered {} {}); it cannot reach the suite's \
             origin server next to the callback receiver",
            response.status,
            show_body(&response.body)
        )));
    }
    ensure!(
        response.status == 413 && response.problem_kind().as_deref() == Some("payload-too-large"),
        "URL-GUARD-5",
        "the url input {url} has an endless body; the server must stop reading past the input \
         limit ({limit} bytes) and answer 413 payload-too-large; got {} {}",
        response.status,
        show_body(&response.body)
    );
    Ok(())
}
