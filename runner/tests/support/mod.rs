//! Test support: a real `longrun serve` process on a loopback port chosen at run
//! time, and a small blocking HTTP client for it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;

/// How long a test waits for anything before it fails.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A running `longrun serve`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The data directory (kept across restarts).
    pub data_dir: PathBuf,
    extra_args: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

/// Compiled plugins are shared by every test server, so each compiles once.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("longrun-component-cache")
}

impl Server {
    /// A server with a fresh data directory and default options.
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// A server with a fresh data directory and these extra arguments.
    pub fn start_with(args: &[&str]) -> Server {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut server = Server::spawn(temp.path().join("data"), args);
        server._temp = Some(temp);
        server
    }

    /// A server on an existing data directory.
    pub fn spawn(data_dir: PathBuf, args: &[&str]) -> Server {
        let extra_args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_longrun"))
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&data_dir)
            .arg("--cache-dir")
            .arg(cache_dir())
            .args(&extra_args)
            .env("LONGRUN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start longrun serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("longrun listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!("longrun serve did not announce its address");
            }
        };
        Server {
            child,
            base,
            data_dir,
            extra_args,
            _temp: None,
        }
    }

    /// Kill the process with SIGKILL and start it again on the same data directory.
    pub fn kill_and_restart(&mut self) {
        self.kill();
        let args: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        let fresh = Server::spawn(self.data_dir.clone(), &args);
        let old = std::mem::replace(self, fresh);
        self._temp = old.take_temp();
    }

    fn take_temp(mut self) -> Option<tempfile::TempDir> {
        self._temp.take()
    }

    /// SIGKILL the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A client request to `path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        client().get(self.url(path))
    }

    /// POST JSON to `path`.
    pub fn post_json(&self, path: &str, body: &Value) -> RequestBuilder {
        client().post(self.url(path)).json(body)
    }

    /// Start a job of `op` with `body` and return the response.
    pub fn start_job(&self, op: &str, body: &Value) -> Response {
        self.post_json(&format!("/v1/operations/{op}/jobs"), body)
            .send()
            .expect("start request")
    }

    /// Start a job, expect `202`, return its document.
    pub fn started(&self, op: &str, body: &Value) -> Value {
        let response = self.start_job(op, body);
        let status = response.status();
        let text = response.text().unwrap();
        assert_eq!(status, 202, "start {op}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// The job document of `id`.
    pub fn job(&self, id: &str) -> Value {
        let response = self.get(&format!("/v1/jobs/{id}")).send().unwrap();
        assert_eq!(response.status(), 200, "GET job {id}");
        response.json().unwrap()
    }

    /// Poll job `id` until `done` holds for its document, or fail at the deadline.
    pub fn poll_until(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let response = self
                .get(&format!("/v1/jobs/{id}?waitSeconds=1"))
                .send()
                .unwrap();
            if response.status() == 200 {
                let doc: Value = response.json().unwrap();
                if done(&doc) {
                    return doc;
                }
            }
            assert!(Instant::now() < deadline, "job {id} never became {what}");
        }
    }

    /// Wait until job `id` is terminal and return its document.
    pub fn finished(&self, id: &str) -> Value {
        self.poll_until(id, "terminal", |doc| {
            matches!(
                doc["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A client with a generous timeout and no redirects.
pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Poll `check` until it returns `Some`, or fail with `what` at the deadline.
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Assert that `response` is a problem document of `kind` with `status`.
pub fn assert_problem(response: Response, status: u16, kind: &str) -> Value {
    assert_eq!(
        response.status().as_u16(),
        status,
        "expected {status} {kind}"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let problem: Value = response.json().unwrap();
    assert_eq!(
        problem["type"],
        format!("urn:longrun:problem:{kind}"),
        "{problem}"
    );
    assert_eq!(problem["status"], status);
    assert!(problem["title"].is_string());
    problem
}
