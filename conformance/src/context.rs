//! The context a check runs in: a recording HTTP client for the server under
//! test, what the server said about itself, the callback receiver and the clock.
//!
//! Every request goes through [`Ctx::request`]: it resolves paths against the
//! base URL, adds the configured headers and the `X-Conformance-Run` and
//! `X-Conformance-Check` headers, bounds the exchange with the request timeout
//! and records it for the report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::check::Finding;
use crate::config::{SuiteConfig, Timeouts};
use crate::exchange::{Exchange, show_body};
use crate::receiver::Receiver;
use crate::server_info::{Limits, ServerInfo};

/// The problem type URI prefix (section 18.1).
pub const PROBLEM_PREFIX: &str = "urn:longrun:problem:";

/// What every check of a run shares.
#[derive(Clone)]
pub(crate) struct Shared {
    pub config: SuiteConfig,
    pub client: reqwest::Client,
    pub server: Option<ServerInfo>,
    pub receiver: Receiver,
}

/// The context of one check.
#[derive(Clone)]
pub struct Ctx {
    shared: Arc<Shared>,
    state: Arc<CheckState>,
}

struct CheckState {
    check: &'static str,
    exchanges: Mutex<Vec<Exchange>>,
    jobs: Mutex<Vec<String>>,
}

impl Ctx {
    pub(crate) fn new(shared: Arc<Shared>, check: &'static str) -> Ctx {
        Ctx {
            shared,
            state: Arc::new(CheckState {
                check,
                exchanges: Mutex::new(Vec::new()),
                jobs: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The ID of the running check.
    pub fn check_id(&self) -> &'static str {
        self.state.check
    }

    /// The run's configuration.
    pub fn config(&self) -> &SuiteConfig {
        &self.shared.config
    }

    /// The harness's timeouts (already scaled).
    pub fn timeouts(&self) -> &Timeouts {
        &self.shared.config.timeouts
    }

    /// The service document as the suite read it before the checks.
    ///
    /// Every check except those of section 4 needs `service.document` to pass, so
    /// they may rely on it.
    pub fn server(&self) -> &ServerInfo {
        self.shared
            .server
            .as_ref()
            .expect("checks that read the service document need service.document")
    }

    /// The server's limits.
    pub fn limits(&self) -> &Limits {
        &self.server().limits
    }

    /// Whether the server claims a conformance class.
    pub fn claims(&self, class: &str) -> bool {
        self.shared.server.as_ref().is_some_and(|s| s.claims(class))
    }

    /// The callback receiver.
    pub fn receiver(&self) -> &Receiver {
        &self.shared.receiver
    }

    /// A fresh receiver endpoint for this check, answering with `script`.
    ///
    /// Skips the check when the server refuses private networks (SVC-8) and
    /// the receiver is advertised at a loopback or private address, since the
    /// server then cannot call it.
    pub fn callback_endpoint(
        &self,
        script: Vec<crate::receiver::Answer>,
    ) -> Result<crate::receiver::Endpoint, Finding> {
        let receiver = self.receiver();
        let private = url::Url::parse(receiver.advertised())
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .is_some_and(|host| is_private_host(&host));
        let refused = self
            .shared
            .server
            .as_ref()
            .and_then(|s| s.private_networks_allowed)
            == Some(false);
        if private && refused {
            return Err(Finding::skip(format!(
                "the server refuses private networks (urlGuard.privateNetworksAllowed is false) \
                 and the receiver is at {}; allow private networks on the server or give \
                 --callback-url a public address",
                receiver.advertised()
            )));
        }
        Ok(receiver.endpoint(self.check_id(), script))
    }

    /// The name of the operation the checks drive (`probe` unless overridden).
    pub fn probe(&self) -> &str {
        &self.shared.config.probe_operation
    }

    /// An absolute URL for `path_or_url` (`/v1/...` or already absolute).
    pub fn url(&self, path_or_url: &str) -> String {
        if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            return path_or_url.to_owned();
        }
        let base = self.shared.config.base_url.as_str().trim_end_matches('/');
        format!("{base}{path_or_url}")
    }

    /// Start building a request.
    pub fn request(&self, method: Method, path_or_url: &str) -> Request {
        Request {
            ctx: self.clone(),
            method,
            url: self.url(path_or_url),
            headers: Vec::new(),
            body: None,
            timeout: self.shared.config.timeouts.request,
        }
    }

    /// `GET path_or_url`.
    pub fn get(&self, path_or_url: &str) -> Request {
        self.request(Method::GET, path_or_url)
    }

    /// `POST path_or_url` with a JSON body.
    pub fn post_json(&self, path_or_url: &str, body: &Value) -> Request {
        self.request(Method::POST, path_or_url).json(body)
    }

    /// `DELETE path_or_url`.
    pub fn delete(&self, path_or_url: &str) -> Request {
        self.request(Method::DELETE, path_or_url)
    }

    /// The server's public base URL: its `links.self` without the `/v1`.
    pub fn public_base(&self) -> String {
        self.server().document["links"]["self"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches("/v1")
            .to_owned()
    }

    /// Remember a job URL so the suite deletes the job when the check ends.
    pub fn track_job(&self, job_url: &str) {
        self.state
            .jobs
            .lock()
            .expect("jobs lock")
            .push(job_url.to_owned());
    }

    pub(crate) fn take_jobs(&self) -> Vec<String> {
        std::mem::take(&mut *self.state.jobs.lock().expect("jobs lock"))
    }

    pub(crate) fn take_exchanges(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.state.exchanges.lock().expect("exchanges lock"))
    }

    fn record(&self, exchange: Exchange) {
        self.state
            .exchanges
            .lock()
            .expect("exchanges lock")
            .push(exchange);
    }

    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.shared.client
    }
}

/// A request being built; [`Request::send`] sends and records it.
pub struct Request {
    ctx: Ctx,
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Bytes>,
    timeout: Duration,
}

impl Request {
    /// Add a header.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// A JSON body with `Content-Type: application/json`.
    pub fn json(self, body: &Value) -> Request {
        self.body("application/json", body.to_string())
    }

    /// A body with the given `Content-Type`.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Request {
        self.headers
            .push(("Content-Type".to_owned(), content_type.to_owned()));
        self.body = Some(body.into());
        self
    }

    /// A body without a `Content-Type` header.
    pub fn raw_body(mut self, body: impl Into<Bytes>) -> Request {
        self.body = Some(body.into());
        self
    }

    /// Allow this exchange `timeout` instead of the request timeout (for
    /// requests that wait on purpose).
    pub fn timeout(mut self, timeout: Duration) -> Request {
        self.timeout = timeout;
        self
    }

    fn build(&self) -> Result<reqwest::RequestBuilder, Finding> {
        let config = &self.ctx.shared.config;
        let mut headers = HeaderMap::new();
        let all = config
            .headers
            .iter()
            .chain(self.headers.iter())
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .chain([
                ("X-Conformance-Run", config.run_id.as_str()),
                ("X-Conformance-Check", self.ctx.state.check),
            ]);
        for (name, value) in all {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| Finding::error(format!("bad header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| Finding::error(format!("bad header value {value:?}: {e}")))?;
            headers.append(name, value);
        }
        let mut builder = self
            .ctx
            .client()
            .request(self.method.clone(), &self.url)
            .headers(headers);
        if let Some(body) = &self.body {
            builder = builder.body(body.clone());
        }
        Ok(builder)
    }

    fn exchange(&self) -> Exchange {
        let body_text = self.body.as_ref().map(|b| show_body(b));
        let body_full = self
            .body
            .as_ref()
            .and_then(|b| std::str::from_utf8(b).ok().map(str::to_owned));
        // Configured headers usually carry credentials: reports show their
        // names only.
        let mut request_headers: Vec<(String, String)> = self
            .ctx
            .shared
            .config
            .headers
            .iter()
            .map(|(name, _)| (name.clone(), "(redacted)".to_owned()))
            .collect();
        request_headers.extend(self.headers.iter().cloned());
        request_headers.push(("X-Conformance-Run".into(), self.ctx.config().run_id.clone()));
        request_headers.push(("X-Conformance-Check".into(), self.ctx.state.check.into()));
        Exchange {
            method: self.method.to_string(),
            url: self.url.clone(),
            request_headers,
            request_body: body_text,
            request_body_full: body_full,
            status: None,
            response_headers: Vec::new(),
            response_body: None,
            error: None,
            elapsed_ms: 0,
        }
    }

    /// Send the request and read the whole answer.
    ///
    /// No answer within the timeout, or a transport failure, is an error of the
    /// environment; checks that expect an answer in time say which requirement
    /// a late one breaks by using [`Request::send_within`].
    pub async fn send(self) -> Result<Response, Finding> {
        let timeout = self.timeout;
        self.send_within(timeout, None).await
    }

    /// Send the request; an answer that takes longer than `within` breaks
    /// `requirement` when one is given (else it is a harness error).
    pub async fn send_within(
        self,
        within: Duration,
        requirement: Option<&'static str>,
    ) -> Result<Response, Finding> {
        let mut exchange = self.exchange();
        let builder = self.build()?;
        let started = Instant::now();
        let outcome = tokio::time::timeout(within, async {
            let response = builder.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        })
        .await;
        exchange.elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(Ok((status, headers, body))) => {
                exchange.status = Some(status);
                exchange.response_headers = header_pairs(&headers);
                exchange.response_body = (!body.is_empty()).then(|| show_body(&body));
                self.ctx.record(exchange);
                Ok(Response {
                    status,
                    headers,
                    body,
                    elapsed: started.elapsed(),
                })
            }
            Ok(Err(e)) => {
                let message = format!("{} {}: {}", self.method, self.url, error_chain(&e));
                exchange.error = Some(message.clone());
                self.ctx.record(exchange);
                Err(Finding::error(message))
            }
            Err(_) => {
                let message = format!(
                    "{} {} got no complete answer within {:.1} s",
                    self.method,
                    self.url,
                    within.as_secs_f64()
                );
                exchange.error = Some(message.clone());
                self.ctx.record(exchange);
                Err(match requirement {
                    Some(req) => Finding::violation(req, message),
                    None => Finding::error(message),
                })
            }
        }
    }

    /// Send the request and return as soon as the headers arrive, with the body
    /// still to be read (event streams).
    pub async fn send_streaming(self) -> Result<reqwest::Response, Finding> {
        let mut exchange = self.exchange();
        let builder = self.build()?;
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, builder.send()).await;
        exchange.elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(Ok(response)) => {
                exchange.status = Some(response.status().as_u16());
                exchange.response_headers = header_pairs(response.headers());
                exchange.response_body = Some("(streamed)".into());
                self.ctx.record(exchange);
                Ok(response)
            }
            Ok(Err(e)) => {
                let message = format!("{} {}: {}", self.method, self.url, error_chain(&e));
                exchange.error = Some(message.clone());
                self.ctx.record(exchange);
                Err(Finding::error(message))
            }
            Err(_) => {
                let message = format!("{} {}: no answer in time", self.method, self.url);
                exchange.error = Some(message.clone());
                self.ctx.record(exchange);
                Err(Finding::error(message))
            }
        }
    }
}

/// Whether `host` is `localhost` or a loopback, private or link-local address.
fn is_private_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.is_unspecified() || (ip.segments()[0] & 0xfe00) == 0xfc00
        }
        Err(_) => false,
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| (n.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
        .collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// How long the exchange took.
    pub elapsed: Duration,
}

impl Response {
    /// The first value of a header, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// Whether some `Cache-Control` header has the directive `no-store`.
    pub fn no_store(&self) -> bool {
        self.header_all("cache-control").iter().any(|v| {
            v.split(',')
                .any(|d| d.trim().eq_ignore_ascii_case("no-store"))
        })
    }

    /// The media type of `Content-Type`, lowercased, without parameters.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as a JSON object, or a violation of `requirement`.
    pub fn json_object(&self, requirement: &'static str) -> Result<Value, Finding> {
        match self.json() {
            Some(v @ Value::Object(_)) => Ok(v),
            _ => Err(Finding::violation(
                requirement,
                format!(
                    "expected a JSON object body, got {:?} (status {})",
                    show_body(&self.body),
                    self.status
                ),
            )),
        }
    }

    /// The problem kind (`job-not-found` for `urn:longrun:problem:job-not-found`).
    pub fn problem_kind(&self) -> Option<String> {
        let doc = self.json()?;
        let ty = doc.get("type")?.as_str()?;
        Some(ty.strip_prefix(PROBLEM_PREFIX).unwrap_or(ty).to_owned())
    }

    /// Check that this is the problem `kind` with `status`, as a problem document
    /// (ERR-1), else a violation of `requirement`.
    pub fn expect_problem(
        &self,
        status: u16,
        kind: &str,
        requirement: &'static str,
    ) -> Result<Value, Finding> {
        if self.status != status || self.problem_kind().as_deref() != Some(kind) {
            return Err(Finding::violation(
                requirement,
                format!(
                    "expected {status} {kind}, got {} {} with body {}",
                    self.status,
                    self.header("content-type").unwrap_or("(no Content-Type)"),
                    show_body(&self.body)
                ),
            ));
        }
        if self.media_type().as_deref() != Some("application/problem+json") {
            return Err(Finding::violation(
                "ERR-1",
                format!(
                    "a {status} answer has Content-Type {:?}, not application/problem+json",
                    self.header("content-type")
                ),
            ));
        }
        Ok(self.json().unwrap_or(Value::Null))
    }
}
