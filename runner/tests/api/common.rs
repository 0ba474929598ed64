//! Helpers shared by the API tests: headers, times, problems, job waits, a
//! multipart encoder, a server-sent-events reader and a tiny HTTP fixture
//! server for `url` inputs.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use crate::support::{DEADLINE, Server, assert_problem, client};

/// Params of a probe job that runs for a minute in 100 ms steps: long enough
/// to be observed while active, and quick to cancel.
pub fn long() -> Value {
    json!({"durationMs": 60000, "steps": 600})
}

/// Params of a probe job that finishes at once.
pub fn quick() -> Value {
    json!({"steps": 1})
}

/// The value of header `name`, if present.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("visible ASCII header").to_owned())
}

/// All values of header `name`.
pub fn headers_all(response: &Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().expect("visible ASCII header").to_owned())
        .collect()
}

/// The value of header `name`; fails if absent.
pub fn must_header(response: &Response, name: &str) -> String {
    header(response, name).unwrap_or_else(|| panic!("no `{name}` header: {:?}", response.headers()))
}

/// `Retry-After` in delay-seconds form; fails if absent or not an integer.
pub fn retry_after(response: &Response) -> u64 {
    let value = must_header(response, "retry-after");
    value
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After `{value}` is not delay-seconds"))
}

/// The `(url, rel)` pairs of `Link` headers (RFC 8288).
pub fn links(response: &Response) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for value in headers_all(response, "link") {
        let mut rest = value.as_str();
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("a closed link target") + start;
            let url = rest[start + 1..end].to_owned();
            rest = &rest[end + 1..];
            let params_end = rest.find('<').unwrap_or(rest.len());
            for param in rest[..params_end].split([';', ',']) {
                if let Some((key, value)) = param.trim().split_once('=')
                    && key.trim().eq_ignore_ascii_case("rel")
                {
                    for rel in value.trim().trim_matches('"').split_whitespace() {
                        out.push((url.clone(), rel.to_owned()));
                    }
                }
            }
        }
    }
    out
}

/// The URL of the link with relation `rel`, if any.
pub fn link(response: &Response, rel: &str) -> Option<String> {
    links(response)
        .into_iter()
        .find(|(_, r)| r == rel)
        .map(|(u, _)| u)
}

/// Parse an RFC 3339 time.
pub fn parse_time(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339)
        .unwrap_or_else(|e| panic!("`{text}` is not RFC 3339: {e}"))
}

/// The time member `name` of `doc`, which must be set.
pub fn time_of(doc: &Value, name: &str) -> OffsetDateTime {
    parse_time(
        doc[name]
            .as_str()
            .unwrap_or_else(|| panic!("`{name}` is not set: {doc}")),
    )
}

/// GEN-2: an RFC 3339 UTC time with `Z` and exactly three fractional digits.
pub fn assert_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a timestamp string"));
    let b = text.as_bytes();
    let shape_ok = b.len() == 24
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'.'
        && b[23] == b'Z'
        && [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22]
            .iter()
            .all(|&i| b[i].is_ascii_digit());
    assert!(shape_ok, "GEN-2: `{text}` is not YYYY-MM-DDTHH:MM:SS.mmmZ");
    parse_time(text);
}

/// The current time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `id` of a job document.
pub fn id_of(doc: &Value) -> String {
    doc["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {doc}"))
        .to_owned()
}

/// Start a probe job with these params; expect `202`; return its document.
pub fn probe(server: &Server, params: Value) -> Value {
    server.started("probe", &json!({ "params": params }))
}

/// The titles this server gives each problem type (ERR-2, section 18).
pub fn title_of(kind: &str) -> &'static str {
    match kind {
        "malformed-request" => "The request is malformed",
        "unauthenticated" => "Authentication required",
        "not-found" => "No such resource",
        "operation-not-found" => "No such operation",
        "job-not-found" => "No such job",
        "method-not-allowed" => "Method not allowed",
        "job-finished" => "The job has already finished",
        "result-not-available" => "The job has no result",
        "idempotency-key-in-use" => "A request with this Idempotency-Key is still being accepted",
        "payload-too-large" => "The request is too large",
        "unsupported-media-type" => "Unsupported media type",
        "range-not-satisfiable" => "The range cannot be satisfied",
        "invalid-params" => "The params are invalid",
        "invalid-inputs" => "The inputs are invalid",
        "invalid-request" => "The request is invalid",
        "url-not-allowed" => "The URL is not allowed",
        "idempotency-key-reused" => "The Idempotency-Key was used for a different request",
        "queue-full" => "The queue is full",
        "internal" => "Internal error",
        "plugin-error" => "The operation failed",
        "plugin-trap" => "The plugin crashed",
        "memory-limit-exceeded" => "The plugin exceeded its memory limit",
        "deadline-exceeded" => "The job ran past its deadline",
        "attempts-exhausted" => "The job was interrupted too many times",
        "runner-error" => "The runner could not complete the job",
        "job-canceled" => "The job was canceled",
        other => panic!("unknown problem kind {other}"),
    }
}

/// ERR-1, ERR-2: `response` is a problem document of `kind` with `status`, the
/// fixed title of its type and a `detail`. (Whether `instance` is right is
/// checked by `errors::err_1_instance_is_the_request_path`.)
pub fn problem(response: Response, status: u16, kind: &str) -> Value {
    let problem = assert_problem(response, status, kind);
    assert_eq!(problem["title"], title_of(kind), "ERR-2: {problem}");
    assert!(problem["detail"].is_string(), "ERR-1: no detail: {problem}");
    problem
}

/// Like [`problem`], for one of the `errors` problems: the list must name `input`.
pub fn input_problem(response: Response, status: u16, kind: &str, input: &str) -> Value {
    let problem = problem(response, status, kind);
    let errors = problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("ERR-6: no errors array: {problem}"));
    assert!(
        errors
            .iter()
            .any(|e| e["input"] == input && e["message"].is_string()),
        "JOB-INPUT-4/ERR-6: errors do not name input `{input}`: {problem}"
    );
    problem
}

/// Read job `id` once: status, ETag and document (`None` body for `304`).
pub fn get_job(server: &Server, id: &str) -> (u16, Option<String>, Value) {
    let response = server.get(&format!("/v1/jobs/{id}")).send().unwrap();
    let status = response.status().as_u16();
    let etag = header(&response, "etag");
    let body: Value = response.json().unwrap_or(Value::Null);
    (status, etag, body)
}

/// Follow job `id` with conditional long polls until `done` holds for its
/// document, or fail at the deadline. Every read is a use of the job.
pub fn await_job(server: &Server, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + DEADLINE;
    let (status, mut etag, mut doc) = get_job(server, id);
    assert_eq!(status, 200, "GET job {id}: {doc}");
    loop {
        if done(&doc) {
            return doc;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} never became {what}: {doc}"
        );
        let response = server
            .get(&format!("/v1/jobs/{id}?waitSeconds=2"))
            .header(
                "If-None-Match",
                etag.clone().expect("job answers carry an ETag"),
            )
            .send()
            .unwrap();
        match response.status().as_u16() {
            304 => {}
            200 => {
                etag = header(&response, "etag");
                doc = response.json().unwrap();
            }
            other => panic!("long poll of {id} answered {other}"),
        }
    }
}

/// Wait until job `id` is `running`.
pub fn await_running(server: &Server, id: &str) -> Value {
    await_job(server, id, "running", |doc| doc["status"] == "running")
}

/// Wait until job `id` is terminal.
pub fn await_terminal(server: &Server, id: &str) -> Value {
    await_job(server, id, "terminal", |doc| {
        matches!(
            doc["status"].as_str(),
            Some("succeeded" | "failed" | "canceled")
        )
    })
}

/// The jobs of one `GET /v1/jobs` page with this query (which is not a use).
pub fn list(server: &Server, query: &str) -> Value {
    let response = server.get(&format!("/v1/jobs{query}")).send().unwrap();
    assert_eq!(response.status(), 200, "GET /v1/jobs{query}");
    response.json().unwrap()
}

/// Job `id` as the list shows it (reading it so is not a use), if listed.
pub fn listed(server: &Server, id: &str) -> Option<Value> {
    list(server, "?limit=100")["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|doc| doc["id"] == id)
        .cloned()
}

/// Wait until job `id` is terminal without using it (list polling), so that
/// its expiry does not move.
pub fn await_terminal_unused(server: &Server, id: &str) -> Value {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let doc = listed(server, id).unwrap_or_else(|| panic!("job {id} is not listed"));
        if matches!(
            doc["status"].as_str(),
            Some("succeeded" | "failed" | "canceled")
        ) {
            return doc;
        }
        assert!(Instant::now() < deadline, "job {id} never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `check` until it returns `Some`, or fail at the deadline.
pub fn eventually<T>(what: &str, check: impl FnMut() -> Option<T>) -> T {
    crate::support::eventually(what, check)
}

/// Block until the wall clock has passed `instant` (polling; used where a test
/// is about the passing of time itself, such as expiry).
pub fn until(instant: OffsetDateTime) {
    eventually("the clock to pass a deadline", || {
        (now() > instant).then_some(())
    });
}

// ---------------------------------------------------------------------------
// multipart/form-data

/// One part of a multipart body.
pub struct Part<'a> {
    /// `Content-Disposition` name (`None`: a part without a name).
    pub name: Option<&'a str>,
    /// `Content-Disposition` filename.
    pub filename: Option<&'a str>,
    /// The part's `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The part's body.
    pub body: &'a [u8],
}

/// A form field part.
pub fn field<'a>(name: &'a str, value: &'a str) -> Part<'a> {
    Part {
        name: Some(name),
        filename: None,
        content_type: None,
        body: value.as_bytes(),
    }
}

/// A file part.
pub fn file_part<'a>(
    name: &'a str,
    filename: &'a str,
    content_type: Option<&'a str>,
    body: &'a [u8],
) -> Part<'a> {
    Part {
        name: Some(name),
        filename: Some(filename),
        content_type,
        body,
    }
}

/// The boundary of [`multipart_body`].
pub const BOUNDARY: &str = "longrun-test-boundary-7MA4YWxkTrZu0gW";

/// Encode `parts` as `multipart/form-data` with [`BOUNDARY`].
pub fn multipart_body(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for part in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut disposition = "Content-Disposition: form-data".to_owned();
        if let Some(name) = part.name {
            disposition.push_str(&format!("; name=\"{name}\""));
        }
        if let Some(filename) = part.filename {
            disposition.push_str(&format!("; filename=\"{filename}\""));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part.content_type {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(part.body);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `POST /v1/operations/{op}/jobs` with a multipart body of `parts`.
pub fn post_multipart(
    server: &Server,
    op: &str,
    parts: &[Part<'_>],
) -> reqwest::blocking::RequestBuilder {
    client()
        .post(server.url(&format!("/v1/operations/{op}/jobs")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart_body(parts))
}

// ---------------------------------------------------------------------------
// What the plugin saw

/// What the probe received as its input `data`.
#[derive(Debug)]
pub struct Seen {
    /// The media type the plugin was given.
    pub media_type: String,
    /// The bytes the plugin was given.
    pub bytes: Vec<u8>,
}

impl Seen {
    /// Assert that the plugin saw exactly `bytes` as `media_type`.
    pub fn assert(&self, media_type: &str, bytes: &[u8]) {
        assert_eq!(
            self.media_type, media_type,
            "JOB-INPUT-5: media type given to the plugin"
        );
        assert_eq!(self.bytes, bytes, "JOB-INPUT-5: bytes given to the plugin");
    }
}

/// Run a probe job whose start request `send` makes from the given params, and
/// report what the probe received as input `data`: with `echoInput` (PROBE-6)
/// the probe answers that input's bytes with its media type.
pub fn seen_by_probe(send: impl Fn(Value) -> Response) -> Seen {
    let response = send(json!({"echoInput": true, "steps": 1}));
    let status = response.status();
    let media_type = must_header(&response, "content-type");
    let bytes = response.bytes().unwrap().to_vec();
    assert_eq!(
        status,
        200,
        "synchronous probe run with echoInput: {}",
        String::from_utf8_lossy(&bytes)
    );
    Seen { media_type, bytes }
}

/// What the probe receives when input `data` is the JSON input value `input`.
pub fn seen_json(server: &Server, input: Value) -> Seen {
    seen_by_probe(|params| {
        server
            .post_json(
                "/v1/operations/probe/jobs",
                &json!({"inputs": {"data": input.clone()}, "params": params}),
            )
            .header("Prefer", "wait=30")
            .send()
            .unwrap()
    })
}

// ---------------------------------------------------------------------------
// Server-sent events

/// One server-sent event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// The `data:` lines.
    pub data: Vec<String>,
}

impl SseEvent {
    /// The job document the event carries.
    pub fn doc(&self) -> Value {
        assert_eq!(
            self.data.len(),
            1,
            "EVENTS-3: exactly one data line: {self:?}"
        );
        serde_json::from_str(&self.data[0]).expect("EVENTS-3: data is JSON")
    }
}

/// Reads events from an event stream.
pub struct Events {
    lines: std::io::Lines<BufReader<Response>>,
}

impl Events {
    /// Read the stream of `response`.
    pub fn new(response: Response) -> Events {
        Events {
            lines: BufReader::new(response).lines(),
        }
    }

    /// The next event, or `None` at the end of the stream.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        let mut event = SseEvent {
            event: None,
            id: None,
            data: Vec::new(),
        };
        let mut any = false;
        loop {
            let line = match self.lines.next() {
                None => return any.then_some(event),
                Some(line) => line.expect("the event stream reads"),
            };
            if line.is_empty() {
                if any {
                    return Some(event);
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            any = true;
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
            match field {
                "event" => event.event = Some(value),
                "id" => event.id = Some(value),
                "data" => event.data.push(value),
                _ => {}
            }
        }
    }

    /// Every remaining event, to the end of the stream.
    pub fn rest(&mut self) -> Vec<SseEvent> {
        std::iter::from_fn(|| self.next_event()).collect()
    }
}

/// Open the event stream of job `id`; expect `200`.
pub fn open_events(server: &Server, id: &str) -> Events {
    let response = server.get(&format!("/v1/jobs/{id}/events")).send().unwrap();
    assert_eq!(response.status(), 200, "EVENTS-1");
    Events::new(response)
}

// ---------------------------------------------------------------------------
// A tiny HTTP server for `url` inputs

/// What the fixture answers for a path.
#[derive(Clone)]
pub struct Route {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// An HTTP/1.1 server on a loopback port chosen at run time, answering GETs
/// from a table of routes and counting the requests per path.
pub struct Fixture {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

impl Fixture {
    /// Start a fixture server with no routes (every path answers `404`).
    pub fn start() -> Fixture {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fixture");
        let port = listener.local_addr().unwrap().port();
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        {
            let routes = routes.clone();
            let hits = hits.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let routes = routes.clone();
                    let hits = hits.clone();
                    std::thread::spawn(move || serve_one(stream, &routes, &hits));
                }
            });
        }
        Fixture {
            base: format!("http://127.0.0.1:{port}"),
            routes,
            hits,
            stop,
            port,
        }
    }

    /// Answer `GET path` with `status`, `headers` and `body`.
    pub fn route(&self, path: &str, status: u16, headers: &[(&str, &str)], body: &[u8]) {
        self.routes.lock().unwrap().insert(
            path.to_owned(),
            Route {
                status,
                headers: headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                body: body.to_vec(),
            },
        );
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How many requests `path` received.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// How many requests the fixture received in all.
    pub fn total_hits(&self) -> usize {
        self.hits.lock().unwrap().values().sum()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        // Wake the accept loop so that it sees the flag and ends.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_one(
    mut stream: TcpStream,
    routes: &Mutex<HashMap<String, Route>>,
    hits: &Mutex<HashMap<String, usize>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head
        .lines()
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .unwrap_or("/")
        .to_owned();
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let route = routes.lock().unwrap().get(&path).cloned().unwrap_or(Route {
        status: 404,
        headers: Vec::new(),
        body: b"not found".to_vec(),
    });
    let mut out = format!(
        "HTTP/1.1 {} Fixture\r\nContent-Length: {}\r\nConnection: close\r\n",
        route.status,
        route.body.len()
    );
    for (name, value) in &route.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&route.body);
    let _ = stream.flush();
}

/// A loopback port with nothing listening on it.
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Every object member name in `value`, recursively (GEN-1), skipping the
/// members whose values are not defined by the protocol.
pub fn member_names(value: &Value, skip: &[&str], out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                out.push(key.clone());
                if !skip.contains(&key.as_str()) {
                    member_names(child, skip, out);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                member_names(item, skip, out);
            }
        }
        _ => {}
    }
}

/// GEN-1: every member name is camelCase.
pub fn assert_camel_case(value: &Value, skip: &[&str]) {
    let mut names = Vec::new();
    member_names(value, skip, &mut names);
    for name in names {
        let mut chars = name.chars();
        let first = chars.next().expect("non-empty member name");
        assert!(
            first.is_ascii_lowercase() && chars.all(|c| c.is_ascii_alphanumeric()),
            "GEN-1: member `{name}` is not camelCase in {value}"
        );
    }
}
