//! A scripted callback receiver: an HTTP/1.1 server on a loopback port that
//! records every request it gets and answers each path from a script.
//!
//! One thread accepts, one thread serves each connection; every answer closes
//! the connection. A request is recorded once its head and body have been read
//! (`Content-Length` or chunked), with its arrival time.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;
use time::OffsetDateTime;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The request method.
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body.
    pub body: Vec<u8>,
    /// When the request had been read in full.
    pub at: Instant,
    /// The same moment on the wall clock.
    pub wall: OffsetDateTime,
}

impl Attempt {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("visible ASCII header"))
    }

    /// The value of header `name`; fails if absent.
    pub fn must_header(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("no `{name}` header in {self:?}"))
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the callback body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status code; `None`: read the request and never answer.
    status: Option<u16>,
    headers: Vec<(String, String)>,
}

impl Reply {
    /// Add a response header.
    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// Answer with `code`.
pub fn status(code: u16) -> Reply {
    Reply {
        status: Some(code),
        headers: Vec::new(),
    }
}

/// Read the request and never answer (until the receiver is dropped or the
/// client closes the connection).
pub fn hang() -> Reply {
    Reply {
        status: None,
        headers: Vec::new(),
    }
}

struct Shared {
    attempts: Mutex<Vec<Attempt>>,
    scripts: Mutex<HashMap<String, VecDeque<Reply>>>,
    fallback: Mutex<Reply>,
    stop: AtomicBool,
}

/// The receiver. Paths without a script, or whose script is used up, get the
/// fallback answer (`200` unless changed).
pub struct Receiver {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The port it listens on.
    pub port: u16,
    shared: Arc<Shared>,
}

impl Receiver {
    /// A receiver on a port chosen now.
    pub fn start() -> Receiver {
        Receiver::listen(TcpListener::bind("127.0.0.1:0").expect("bind the receiver"))
    }

    /// A receiver on `port` (one that was free a moment ago).
    pub fn start_on(port: u16) -> Receiver {
        Receiver::listen(
            TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("bind the receiver to port {port}: {e}")),
        )
    }

    fn listen(listener: TcpListener) -> Receiver {
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            attempts: Mutex::default(),
            scripts: Mutex::default(),
            fallback: Mutex::new(status(200)),
            stop: AtomicBool::new(false),
        });
        {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if shared.stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || serve(stream, &shared));
                }
            });
        }
        Receiver {
            base: format!("http://127.0.0.1:{port}"),
            port,
            shared,
        }
    }

    /// Answer the next requests to `path` with `replies`, in order.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.shared
            .scripts
            .lock()
            .unwrap()
            .insert(path.to_owned(), replies.into_iter().collect());
    }

    /// Answer unscripted requests with `reply`.
    pub fn fallback(&self, reply: Reply) {
        *self.shared.fallback.lock().unwrap() = reply;
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Every request so far, in arrival order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared.attempts.lock().unwrap().clone()
    }

    /// The requests to `path` so far, in arrival order.
    pub fn attempts_to(&self, path: &str) -> Vec<Attempt> {
        self.attempts()
            .into_iter()
            .filter(|a| a.path() == path)
            .collect()
    }

    /// How many requests arrived in all.
    pub fn count(&self) -> usize {
        self.shared.attempts.lock().unwrap().len()
    }

    /// Wait until `path` got at least `n` requests; return them all.
    pub fn await_attempts(&self, path: &str, n: usize) -> Vec<Attempt> {
        crate::support::eventually(&format!("{n} requests to {path}"), || {
            let got = self.attempts_to(path);
            (got.len() >= n).then_some(got)
        })
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        // Wake the accept loop so that it sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream);
    let Some(attempt) = read_request(&mut reader) else {
        return;
    };
    let path = attempt.path().to_owned();
    shared.attempts.lock().unwrap().push(attempt);
    let reply = shared
        .scripts
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front)
        .unwrap_or_else(|| shared.fallback.lock().unwrap().clone());
    let mut stream = reader.into_inner();
    let Some(code) = reply.status else {
        // Hang: keep the connection open, answering nothing, until the client
        // gives up or the receiver is dropped.
        let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
        let mut sink = [0u8; 1024];
        while !shared.stop.load(Ordering::Acquire) {
            match stream.read(&mut sink) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return,
            }
        }
        return;
    };
    let reason = reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Scripted");
    let mut out = format!("HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n");
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

/// Read one request; `None` if the connection ends first or is not HTTP.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Attempt> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let target = words.next()?.to_owned();
    let mut headers = HeaderMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            HeaderValue::from_str(value.trim()).ok()?,
        );
    }
    let chunked = headers
        .get("transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0u8; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else if let Some(length) = headers.get("content-length") {
        let length: usize = length.to_str().ok()?.trim().parse().ok()?;
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some(Attempt {
        method,
        target,
        headers,
        body,
        at: Instant::now(),
        wall: OffsetDateTime::now_utc(),
    })
}

/// The fixture itself: records what it gets and answers from its script.
#[test]
fn the_receiver_records_requests_and_answers_from_its_script() {
    let receiver = Receiver::start();
    receiver.script(
        "/s",
        [status(500), status(503).header("Retry-After", "7"), hang()],
    );
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let post = || {
        client
            .post(receiver.url("/s?a=1"))
            .header("webhook-id", "msg_x")
            .body("{\"k\":1}")
            .send()
    };
    assert_eq!(post().unwrap().status(), 500);
    let second = post().unwrap();
    assert_eq!(second.status(), 503);
    assert_eq!(second.headers()["retry-after"], "7");
    assert!(post().is_err(), "a hanging answer times the client out");
    assert_eq!(
        client.get(receiver.url("/other")).send().unwrap().status(),
        200
    );
    let attempts = receiver.attempts_to("/s");
    assert_eq!(attempts.len(), 3);
    for attempt in &attempts {
        assert_eq!(attempt.method, "POST");
        assert_eq!(attempt.target, "/s?a=1");
        assert_eq!(attempt.must_header("webhook-id"), "msg_x");
        assert_eq!(attempt.json()["k"], 1);
    }
    assert_eq!(receiver.count(), 4);
    assert!(attempts[1].at >= attempts[0].at);
}
