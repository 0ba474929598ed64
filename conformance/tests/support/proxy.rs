//! A server with a switchable protocol violation: a reverse proxy in front of
//! the real runner that breaks exactly one rule.
//!
//! The suite talks to the proxy; the proxy forwards every request to the runner
//! (keeping the `Host` header, so the runner's URLs name the proxy) and hands the
//! request and the answer to a [`Violation`] on the way. A violation can change
//! a request, answer it itself, change an answer, change the chunks of an event
//! stream, and relay callback deliveries through itself to change those.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use serde_json::Value;

/// A request passing through the proxy.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// The method.
    pub method: Method,
    /// The path and query, as sent (`/v1/jobs/…?waitSeconds=1`).
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl ProxyRequest {
    /// The path without the query.
    pub fn path_only(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The check that sent it (`X-Conformance-Check`).
    pub fn check(&self) -> &str {
        self.headers
            .get("x-conformance-check")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Whether this is `method` on a path matching `pattern`, where `*` stands
    /// for one path segment (`/v1/jobs/*/result`).
    pub fn is(&self, method: &str, pattern: &str) -> bool {
        if self.method.as_str() != method {
            return false;
        }
        let path: Vec<&str> = self.path_only().split('/').collect();
        let want: Vec<&str> = pattern.split('/').collect();
        path.len() == want.len() && path.iter().zip(&want).all(|(p, w)| *w == "*" || p == w)
    }
}

/// An answer passing through the proxy.
#[derive(Debug, Clone)]
pub struct ProxyResponse {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body (empty for event streams, whose chunks pass through
    /// [`Violation::event_chunk`]).
    pub body: Bytes,
}

impl ProxyResponse {
    /// The body as JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// Replace the body with this JSON (and fix `Content-Length`).
    pub fn set_json(&mut self, value: &Value) {
        self.body = Bytes::from(value.to_string());
    }

    /// Change the JSON body in place, if it is JSON.
    pub fn edit_json(&mut self, edit: impl FnOnce(&mut Value)) {
        if let Some(mut value) = self.json() {
            edit(&mut value);
            self.set_json(&value);
        }
    }

    /// Set a header, replacing any earlier value.
    pub fn set_header(&mut self, name: &'static str, value: &str) {
        self.headers
            .insert(name, value.parse().expect("a valid header value"));
    }

    /// Remove a header.
    pub fn remove_header(&mut self, name: &str) {
        self.headers.remove(name);
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// One way of breaking the protocol. Every method has a default that changes
/// nothing.
pub trait Violation: Send + Sync + 'static {
    /// Change a request before it is forwarded.
    fn request(&self, _request: &mut ProxyRequest) {}

    /// Answer a request without forwarding it.
    fn respond(&self, _request: &ProxyRequest) -> Option<ProxyResponse> {
        None
    }

    /// Change an answer before it is returned.
    fn response(&self, _request: &ProxyRequest, _response: &mut ProxyResponse) {}

    /// Change a chunk of an event stream.
    fn event_chunk(&self, _request: &ProxyRequest, _chunk: &mut Vec<u8>) {}

    /// Whether callback URLs are relayed through the proxy (so that the two
    /// methods below see the deliveries).
    fn relays_callbacks(&self) -> bool {
        false
    }

    /// Change delivery attempt `attempt` (0-based) before it is forwarded to the
    /// real callback URL; answer it here by returning `Some`.
    fn callback_request(&self, _attempt: usize, _request: &mut ProxyRequest) -> Option<u16> {
        None
    }

    /// Change the receiver's answer to attempt `attempt` before the runner sees
    /// it.
    fn callback_response(&self, _attempt: usize, _status: &mut u16) {}
}

/// The violation that breaks nothing.
pub struct Transparent;

impl Violation for Transparent {}

/// A violation made of closures over requests and answers.
pub struct OnResponse<F>(pub F);

impl<F> Violation for OnResponse<F>
where
    F: Fn(&ProxyRequest, &mut ProxyResponse) + Send + Sync + 'static,
{
    fn response(&self, request: &ProxyRequest, response: &mut ProxyResponse) {
        (self.0)(request, response)
    }
}

/// A violation that changes requests before they are forwarded.
pub struct OnRequest<F>(pub F);

impl<F> Violation for OnRequest<F>
where
    F: Fn(&mut ProxyRequest) + Send + Sync + 'static,
{
    fn request(&self, request: &mut ProxyRequest) {
        (self.0)(request)
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    violation: Arc<dyn Violation>,
    me: String,
    relays: Mutex<HashMap<usize, Relay>>,
}

struct Relay {
    target: String,
    attempts: usize,
}

/// A running proxy.
pub struct Proxy {
    /// `http://127.0.0.1:<port>`: give this to the suite.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Proxy {
    /// Start a proxy for the runner at `upstream` with `violation`.
    pub async fn start(upstream: &str, violation: Arc<dyn Violation>) -> Proxy {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("the proxy binds");
        let me = format!("http://{}", listener.local_addr().expect("an address"));
        let state = Arc::new(ProxyState {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                // As the suite: no reuse of connections the runner may close.
                .pool_max_idle_per_host(0)
                .build()
                .expect("a client"),
            violation,
            me: me.clone(),
            relays: Mutex::new(HashMap::new()),
        });
        let app = axum::Router::new()
            .route("/__relay/{n}", axum::routing::any(relay))
            .fallback(forward)
            .with_state(state);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Proxy {
            base: me,
            stop: Some(stop),
        }
    }
}

async fn read(request: Request) -> ProxyRequest {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    ProxyRequest {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or("/".to_owned(), |p| p.to_string()),
        headers: parts.headers,
        body,
    }
}

fn build(response: ProxyResponse, body: Body) -> Response {
    let mut out = Response::builder()
        .status(StatusCode::from_u16(response.status).unwrap_or(StatusCode::BAD_GATEWAY));
    for (name, value) in &response.headers {
        if name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        out = out.header(name, value);
    }
    out.body(body).expect("a response")
}

async fn forward(State(state): State<Arc<ProxyState>>, request: Request) -> Response {
    let mut request = read(request).await;
    if state.violation.relays_callbacks() {
        relay_callback_url(&state, &mut request);
    }
    state.violation.request(&mut request);
    if let Some(answer) = state.violation.respond(&request) {
        let body = Body::from(answer.body.clone());
        return build(answer, body);
    }
    let mut upstream = state
        .client
        .request(
            request.method.clone(),
            format!("{}{}", state.upstream, request.path),
        )
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if name != "content-length" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = match upstream.send().await {
        Ok(answer) => answer,
        Err(e) => {
            return Response::builder()
                .status(502)
                .body(Body::from(format!("proxy: {e}")))
                .expect("a response");
        }
    };
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let streaming = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    if streaming {
        let mut response = ProxyResponse {
            status,
            headers,
            body: Bytes::new(),
        };
        state.violation.response(&request, &mut response);
        let violation = state.violation.clone();
        let stream = answer.bytes_stream().map(move |chunk| {
            chunk.map(|bytes| {
                let mut chunk = bytes.to_vec();
                violation.event_chunk(&request, &mut chunk);
                Bytes::from(chunk)
            })
        });
        return build(response, Body::from_stream(stream));
    }
    let body = answer.bytes().await.unwrap_or_default();
    let mut response = ProxyResponse {
        status,
        headers,
        body,
    };
    if state.violation.relays_callbacks() {
        unrelay_body(&state, &mut response);
    }
    state.violation.response(&request, &mut response);
    // A HEAD answer has no body but keeps the length of the body a GET would
    // have (hyper would otherwise say 0).
    let head_length = (request.method == Method::HEAD)
        .then(|| response.headers.get("content-length").cloned())
        .flatten();
    let body = Body::from(response.body.clone());
    let mut out = build(response, body);
    if let Some(length) = head_length {
        out.headers_mut().insert("content-length", length);
    }
    out
}

/// Point a start request's `callback.url` at the proxy's relay.
fn relay_callback_url(state: &ProxyState, request: &mut ProxyRequest) {
    if request.method != Method::POST || !request.path_only().ends_with("/jobs") {
        return;
    }
    let Ok(mut body) = serde_json::from_slice::<Value>(&request.body) else {
        return;
    };
    let Some(url) = body
        .get("callback")
        .and_then(|c| c.get("url"))
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return;
    };
    let mut relays = state.relays.lock().expect("relays lock");
    let n = relays.len();
    relays.insert(
        n,
        Relay {
            target: url,
            attempts: 0,
        },
    );
    body["callback"]["url"] = Value::String(format!("{}/__relay/{n}", state.me));
    request.body = Bytes::from(body.to_string());
}

/// Show the client its own callback URLs again.
fn unrelay_body(state: &ProxyState, response: &mut ProxyResponse) {
    let Ok(mut text) = String::from_utf8(response.body.to_vec()) else {
        return;
    };
    for (n, relay) in state.relays.lock().expect("relays lock").iter() {
        text = text.replace(&format!("{}/__relay/{n}", state.me), &relay.target);
    }
    response.body = Bytes::from(text);
}

async fn relay(
    State(state): State<Arc<ProxyState>>,
    Path(n): Path<usize>,
    request: Request,
) -> Response {
    let mut request = read(request).await;
    let (target, attempt) = {
        let mut relays = state.relays.lock().expect("relays lock");
        let Some(relay) = relays.get_mut(&n) else {
            return Response::builder()
                .status(404)
                .body(Body::empty())
                .expect("a response");
        };
        relay.attempts += 1;
        (relay.target.clone(), relay.attempts - 1)
    };
    if let Some(status) = state.violation.callback_request(attempt, &mut request) {
        return Response::builder()
            .status(status)
            .body(Body::empty())
            .expect("a response");
    }
    let query = request.path.split_once('?').map(|(_, q)| q.to_owned());
    let url = match query {
        Some(q) if target.contains('?') => format!("{target}&{q}"),
        Some(q) => format!("{target}?{q}"),
        None => target,
    };
    let mut outbound = state
        .client
        .request(request.method.clone(), url)
        .body(request.body.clone());
    for (name, value) in &request.headers {
        if name != "host" && name != "content-length" {
            outbound = outbound.header(name, value);
        }
    }
    let (mut status, retry_after) = match outbound.send().await {
        Ok(answer) => (
            answer.status().as_u16(),
            answer.headers().get("retry-after").cloned(),
        ),
        Err(_) => (502, None),
    };
    state.violation.callback_response(attempt, &mut status);
    let mut answer = Response::builder().status(status);
    if let Some(value) = retry_after {
        answer = answer.header("retry-after", value);
    }
    answer.body(Body::empty()).expect("a response")
}
