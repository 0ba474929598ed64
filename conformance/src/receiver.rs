//! The built-in callback receiver.
//!
//! It listens on one address (`--callback-bind`) and is advertised to the server
//! under another (`--callback-url`), so it also works behind NAT or in another
//! container. Each check gets its own [`Endpoint`], a unique path with a scripted
//! list of answers (fail N times, `410`, `Retry-After`, hang); every attempt that
//! reaches it is recorded with its arrival time, method, query, headers and body.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::Notify;

use crate::check::Finding;

/// What the receiver answers to one attempt.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Answer with this status and no body.
    Status(u16),
    /// Answer with this status and a `Retry-After` header holding this text.
    RetryAfter(u16, String),
    /// Never answer (the server must give up on its own).
    Hang,
}

/// One request that reached an endpoint.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it arrived.
    pub at: Instant,
    /// When it arrived, on the wall clock.
    pub wall: SystemTime,
    /// The method.
    pub method: String,
    /// The query string, without `?` (empty when none).
    pub query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Attempt {
    /// The first value of a header, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[derive(Default)]
struct EndpointState {
    script: Vec<Answer>,
    attempts: Mutex<Vec<Attempt>>,
    arrived: Notify,
}

#[derive(Default)]
struct Routes {
    endpoints: Mutex<HashMap<String, Arc<EndpointState>>>,
    next: std::sync::atomic::AtomicU64,
}

/// The receiver of a run.
#[derive(Clone)]
pub struct Receiver {
    routes: Arc<Routes>,
    bound: SocketAddr,
    advertised: String,
}

impl Receiver {
    /// Bind the receiver at `bind`; the server will be told to call
    /// `advertised` (default `http://<bound address>`).
    pub async fn start(
        bind: SocketAddr,
        advertised: Option<&url::Url>,
    ) -> anyhow::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|e| anyhow::anyhow!("the callback receiver cannot listen on {bind}: {e}"))?;
        let bound = listener.local_addr()?;
        let routes = Arc::new(Routes::default());
        let app = axum::Router::new()
            .route("/cb/{key}", axum::routing::any(receive))
            .with_state(routes.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let advertised = advertised
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{bound}"));
        Ok(Receiver {
            routes,
            bound,
            advertised,
        })
    }

    /// Where it listens.
    pub fn bound(&self) -> SocketAddr {
        self.bound
    }

    /// The base URL the server is told to call.
    pub fn advertised(&self) -> &str {
        &self.advertised
    }

    /// A new endpoint with its own path, answering attempt `i` with `script[i]`
    /// and every later attempt with `204`.
    pub fn endpoint(&self, check: &str, script: Vec<Answer>) -> Endpoint {
        let n = self
            .routes
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = format!("{check}-{n}");
        let state = Arc::new(EndpointState {
            script,
            ..EndpointState::default()
        });
        self.routes
            .endpoints
            .lock()
            .expect("routes lock")
            .insert(key.clone(), state.clone());
        Endpoint {
            url: format!("{}/cb/{key}", self.advertised),
            state,
        }
    }
}

/// One check's place at the receiver.
#[derive(Clone)]
pub struct Endpoint {
    /// The URL to give as `callback.url`.
    pub url: String,
    state: Arc<EndpointState>,
}

impl Endpoint {
    /// The attempts so far.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.state.attempts.lock().expect("attempts lock").clone()
    }

    /// Wait until `n` attempts have arrived, for at most `within`.
    ///
    /// None at all is an error of the environment (the server cannot reach the
    /// receiver: check `--callback-url` and the server's outbound URL guard);
    /// some but fewer than `n` is a violation of `requirement`.
    pub async fn wait_attempts(
        &self,
        n: usize,
        within: Duration,
        requirement: &'static str,
    ) -> Result<Vec<Attempt>, Finding> {
        let deadline = Instant::now() + within;
        loop {
            let notified = self.state.arrived.notified();
            let attempts = self.attempts();
            if attempts.len() >= n {
                return Ok(attempts);
            }
            if tokio::time::timeout_at(deadline.into(), notified)
                .await
                .is_err()
            {
                let attempts = self.attempts();
                if attempts.len() >= n {
                    return Ok(attempts);
                }
                return Err(if attempts.is_empty() {
                    Finding::error(format!(
                        "the server never called the receiver at {} within {:.1} s; \
                         is --callback-url reachable from the server, and does it allow \
                         that address (private networks)?",
                        self.url,
                        within.as_secs_f64()
                    ))
                } else {
                    Finding::violation(
                        requirement,
                        format!(
                            "expected {n} attempts within {:.1} s, the receiver got {}",
                            within.as_secs_f64(),
                            attempts.len()
                        ),
                    )
                });
            }
        }
    }

    /// Wait `within` and return every attempt that arrived by then (to show
    /// that no further attempt comes).
    pub async fn attempts_after(&self, within: Duration) -> Vec<Attempt> {
        tokio::time::sleep(within).await;
        self.attempts()
    }
}

async fn receive(
    State(routes): State<Arc<Routes>>,
    Path(key): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(state) = routes
        .endpoints
        .lock()
        .expect("routes lock")
        .get(&key)
        .cloned()
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let index = {
        let mut attempts = state.attempts.lock().expect("attempts lock");
        attempts.push(Attempt {
            at: Instant::now(),
            wall: SystemTime::now(),
            method: method.to_string(),
            query: query.unwrap_or_default(),
            headers,
            body,
        });
        attempts.len() - 1
    };
    state.arrived.notify_waiters();
    match state.script.get(index) {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(Answer::Status(code)) => status(*code).into_response(),
        Some(Answer::RetryAfter(code, value)) => {
            (status(*code), [("retry-after", value.clone())]).into_response()
        }
        Some(Answer::Hang) => {
            // The server has to give up on its own (CALLBACK-15).
            std::future::pending::<Response>().await
        }
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
