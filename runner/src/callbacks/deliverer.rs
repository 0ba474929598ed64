//! The deliverer: finds due deliveries in the store and makes one attempt at
//! each, on its own tasks, recording the outcome back in the store.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use super::schedule::{parse_retry_after, wait_after};
use super::{Callback, DeliveryState, Method, signature};
use crate::api::document::document;
use crate::api::urls::BaseUrl;
use crate::clock::{Clock, rfc3339};
use crate::jobs::JobRecord;
use crate::store::{JobFiles, JobStore};
use crate::url_guard;

/// How the deliverer behaves.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Whether receivers on loopback and private networks may be contacted.
    pub allow_private_networks: bool,
    /// The server-wide signing secret, for jobs that bring none.
    pub secret: Option<String>,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The longest wait between attempts.
    pub max_interval: Duration,
    /// The base of the URLs in the event's job document.
    pub base_url: String,
    /// How many attempts may be under way at once.
    pub concurrency: usize,
}

/// Delivers callbacks.
pub struct Deliverer {
    store: Arc<dyn JobStore>,
    files: JobFiles,
    clock: Arc<dyn Clock>,
    config: DeliveryConfig,
    ready: Arc<Notify>,
    in_flight: Mutex<HashSet<String>>,
    slots: Arc<Semaphore>,
}

/// How one attempt went.
enum Answer {
    /// The receiver answered with this status (and maybe a `Retry-After`).
    Status(u16, Option<Duration>),
    /// No answer: refused by the guard, connection error or timeout.
    Error(String),
}

impl Deliverer {
    /// A deliverer over `store`; `ready` is notified when a delivery may have
    /// become due.
    pub fn new(
        store: Arc<dyn JobStore>,
        files: JobFiles,
        clock: Arc<dyn Clock>,
        config: DeliveryConfig,
        ready: Arc<Notify>,
    ) -> Arc<Deliverer> {
        Arc::new(Deliverer {
            slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
            store,
            files,
            clock,
            config,
            ready,
            in_flight: Mutex::default(),
        })
    }

    /// Deliver forever: every due delivery gets an attempt, at most
    /// `concurrency` at once.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.start_due().await;
            tokio::select! {
                () = self.ready.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }

    /// Start an attempt for every due delivery not already under way.
    pub async fn start_due(self: &Arc<Self>) {
        match self.store.due_callbacks(self.clock.now(), 256).await {
            Ok(due) => self.start(due).await,
            Err(e) => tracing::warn!("could not look for due callbacks: {e}"),
        }
    }

    /// Start an attempt for every delivery of `due` (a list read from the
    /// store, perhaps a moment ago) that is not under way and still due.
    async fn start(self: &Arc<Self>, due: Vec<JobRecord>) {
        for record in due {
            if !self
                .in_flight
                .lock()
                .expect("lock")
                .insert(record.id.clone())
            {
                continue;
            }
            let permit = self
                .slots
                .clone()
                .acquire_owned()
                .await
                .expect("never closed");
            let deliverer = self.clone();
            tokio::spawn(async move {
                let id = record.id.clone();
                // The list above may predate an attempt that ended since: read
                // the delivery again now that it is marked in flight, and make
                // the attempt only if it is still due (no attempt twice).
                match deliverer.store.get(&id).await {
                    Ok(Some(fresh)) if deliverer.still_due(&fresh) => {
                        deliverer.attempt(fresh).await;
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(job = %id, "could not read a due callback: {e}"),
                }
                deliverer.in_flight.lock().expect("lock").remove(&id);
                drop(permit);
            });
        }
    }

    /// Whether `record`'s delivery is pending and its next attempt is due.
    fn still_due(&self, record: &JobRecord) -> bool {
        record
            .callback
            .as_ref()
            .and_then(Callback::due_at)
            .is_some_and(|at| at <= self.clock.now())
    }

    /// Make one attempt at the delivery of `record`'s callback and record it.
    async fn attempt(&self, record: JobRecord) {
        let Some(mut callback) = record.callback.clone() else {
            return;
        };
        let base = BaseUrl(self.config.base_url.clone());
        let body = callback
            .body
            .get_or_insert_with(|| event(&record, &base))
            .clone();
        let answer = self.send(&record.id, &callback, &body).await;
        let now = self.clock.now();
        callback.attempts += 1;
        let attempt = callback.attempts;
        let (outcome, retry_after) = match answer {
            Answer::Status(code, retry_after) => {
                callback.last_status_code = Some(code);
                callback.last_error = None;
                (format!("answered {code}"), retry_after)
            }
            Answer::Error(error) => {
                callback.last_error = Some(error.clone());
                (error, None)
            }
        };
        callback.state = match callback.last_status_code {
            Some(code) if callback.last_error.is_none() && (200..300).contains(&code) => {
                DeliveryState::Delivered
            }
            Some(410) if callback.last_error.is_none() => DeliveryState::Stopped,
            _ if attempt >= callback.retry.max_attempts => DeliveryState::Failed,
            _ => DeliveryState::Pending,
        };
        callback.next_attempt_at = match callback.state {
            DeliveryState::Pending => Some(
                now + wait_after(
                    &callback.retry,
                    attempt,
                    retry_after,
                    self.config.max_interval,
                ),
            ),
            _ => None,
        };
        let next = match (callback.state, callback.next_attempt_at) {
            (DeliveryState::Pending, Some(at)) => format!("next attempt at {}", rfc3339(at)),
            (state, _) => format!("delivery {}", state_name(state)),
        };
        let line = format!(
            "{} CALLBACK attempt {attempt} of {} to {}: {outcome}; {next}\n",
            rfc3339(now),
            callback.retry.max_attempts,
            callback.url
        );
        if let Err(e) = self.store.update_callback(&record.id, &callback, now).await {
            tracing::warn!(job = %record.id, "could not record a callback attempt: {e}");
        }
        let files = self.files.clone();
        let id = record.id.clone();
        let _ = tokio::task::spawn_blocking(move || files.append_log(&id, &line)).await;
    }

    /// Send the event once.
    async fn send(&self, id: &str, callback: &Callback, body: &str) -> Answer {
        let url = match callback.method {
            Method::Post => callback.url.clone(),
            Method::Get => with_job_id(&callback.url, id),
        };
        let checked = match url_guard::check(&url, self.config.allow_private_networks).await {
            Ok(checked) => checked,
            Err(problem) => {
                return Answer::Error(format!(
                    "not contacted: {}",
                    problem.detail.unwrap_or_default()
                ));
            }
        };
        let client = match checked.client(self.config.timeout) {
            Ok(client) => client,
            Err(e) => return Answer::Error(format!("could not prepare the request: {e}")),
        };
        let webhook_id = format!("msg_{id}");
        let timestamp = self.clock.now().unix_timestamp();
        let signed_body = match callback.method {
            Method::Post => body.as_bytes(),
            Method::Get => b"",
        };
        let mut request = match callback.method {
            Method::Post => client
                .post(checked.url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_owned()),
            Method::Get => client.get(checked.url.clone()),
        }
        .header("webhook-id", &webhook_id)
        .header("webhook-timestamp", timestamp.to_string());
        if let Some(secret) = callback.secret.as_ref().or(self.config.secret.as_ref()) {
            request = request.header(
                "webhook-signature",
                signature::sign(secret, &webhook_id, timestamp, signed_body),
            );
        }
        match request.send().await {
            Ok(response) => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, self.clock.now()));
                Answer::Status(response.status().as_u16(), retry_after)
            }
            Err(e) if e.is_timeout() => Answer::Error(format!(
                "no answer within {} s",
                self.config.timeout.as_secs_f64()
            )),
            Err(e) => Answer::Error(format!("request failed: {e}")),
        }
    }
}

/// The event the receiver gets: `{type, timestamp, data: <job document>}`.
fn event(record: &JobRecord, base: &BaseUrl) -> String {
    let at = record.finished_at.unwrap_or(record.updated_at);
    json!({
        "type": format!("job.{}", record.status),
        "timestamp": rfc3339(at),
        "data": document(record, base),
    })
    .to_string()
}

/// `url` with `jobId=<id>` added to its query.
fn with_job_id(url: &str, id: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.query_pairs_mut().append_pair("jobId", id);
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

fn state_name(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Pending => "pending",
        DeliveryState::Delivered => "delivered",
        DeliveryState::Failed => "failed",
        DeliveryState::Stopped => "stopped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{Backoff, RetryPolicy};
    use crate::clock::{ManualClock, from_millis};
    use crate::jobs::{JobRecord, Progress, Status};
    use crate::store::SqliteStore;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A terminal job with a callback to `url`, due at `at`.
    fn finished_job(url: &str, at: time::OffsetDateTime) -> JobRecord {
        let mut callback = Callback::new(
            url.to_owned(),
            Method::Post,
            Some("whsec_c2VjcmV0LWtleQ==".into()),
            RetryPolicy {
                max_attempts: 3,
                initial_interval_seconds: 10,
                backoff: Backoff::Exponential,
            },
        );
        callback.next_attempt_at = Some(at);
        JobRecord {
            id: "0190f0e4-7c4b-7000-8000-000000000001".into(),
            tenant: String::new(),
            operation: "probe".into(),
            operation_version: "1".into(),
            plugin_sha256: String::new(),
            status: Status::Succeeded,
            attempt: 1,
            created_at: at,
            started_at: Some(at),
            finished_at: Some(at),
            updated_at: at,
            expires_at: Some(at + Duration::from_secs(60)),
            ttl_seconds: 60,
            timeout_seconds: 60,
            correlation_id: None,
            params: json!({}),
            inputs: vec![],
            output_file: None,
            progress: Progress::default(),
            result: None,
            error: None,
            idempotency_key: None,
            request_hash: None,
            revision: 3,
            callback: Some(callback),
        }
    }

    struct Fixture {
        store: Arc<dyn JobStore>,
        clock: Arc<ManualClock>,
        _dir: tempfile::TempDir,
    }

    async fn fixture(record: &JobRecord) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn JobStore> = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
        store.insert(record).await.unwrap();
        Fixture {
            store,
            clock: Arc::new(ManualClock::new(record.finished_at.unwrap())),
            _dir: dir,
        }
    }

    fn deliverer(f: &Fixture, allow_private_networks: bool) -> Arc<Deliverer> {
        Deliverer::new(
            f.store.clone(),
            JobFiles::open(f._dir.path()).unwrap(),
            f.clock.clone(),
            DeliveryConfig {
                allow_private_networks,
                secret: None,
                timeout: Duration::from_secs(5),
                max_interval: Duration::from_secs(3600),
                base_url: "http://runner.test".into(),
                concurrency: 4,
            },
            Arc::default(),
        )
    }

    /// Answer one request on `listener` with `status`, returning what came in.
    fn answer_one(listener: &TcpListener, status: u16) -> String {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(head_end) = text.find("\r\n\r\n") {
                let length = text[..head_end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= head_end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        write!(
            stream,
            "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
        .unwrap();
        String::from_utf8_lossy(&request).into_owned()
    }

    async fn callback_of(f: &Fixture, id: &str) -> Callback {
        f.store.get(id).await.unwrap().unwrap().callback.unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_follow_the_schedule_in_injected_time() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let record = finished_job(&url, from_millis(1_800_000_000_000));
        let f = fixture(&record).await;
        let d = deliverer(&f, true);
        let receiver = std::thread::spawn(move || {
            let first = answer_one(&listener, 500);
            let second = answer_one(&listener, 200);
            (first, second)
        });

        d.start_due().await;
        let after_first = crate::clock::to_millis(f.clock.now()) + 10_000;
        let first = wait_for_attempts(&f, &record.id, 1).await;
        assert_eq!(first.state, DeliveryState::Pending);
        assert_eq!(first.last_status_code, Some(500));
        assert_eq!(
            first.next_attempt_at.map(crate::clock::to_millis),
            Some(after_first)
        );

        // Not due until the clock reaches the next attempt.
        f.clock.advance(Duration::from_millis(9_999));
        assert!(
            f.store
                .due_callbacks(f.clock.now(), 10)
                .await
                .unwrap()
                .is_empty()
        );
        f.clock.advance(Duration::from_millis(1));
        assert_eq!(
            f.store
                .due_callbacks(f.clock.now(), 10)
                .await
                .unwrap()
                .len(),
            1
        );

        d.start_due().await;
        let second = wait_for_attempts(&f, &record.id, 2).await;
        assert_eq!(second.state, DeliveryState::Delivered);
        assert_eq!(second.next_attempt_at, None);
        let (first_request, second_request) = receiver.join().unwrap();
        for request in [&first_request, &second_request] {
            assert!(
                request.contains("webhook-id: msg_0190f0e4-7c4b-7000-8000-000000000001"),
                "{request}"
            );
            assert!(request.contains("webhook-signature: v1,"), "{request}");
        }
        // The body is the same bytes on every attempt.
        let body = |r: &str| r.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
        assert_eq!(body(&first_request), body(&second_request));
        assert!(body(&first_request).contains("\"type\":\"job.succeeded\""));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_name_that_resolves_to_a_private_address_is_not_contacted_at_delivery() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        // `localhost` resolves to loopback: refused when private networks are not allowed.
        let url = format!(
            "http://localhost:{}/hook",
            listener.local_addr().unwrap().port()
        );
        let record = finished_job(&url, from_millis(1_800_000_000_000));
        let f = fixture(&record).await;
        deliverer(&f, false).start_due().await;
        let callback = wait_for_attempts(&f, &record.id, 1).await;
        assert!(
            callback
                .last_error
                .as_deref()
                .unwrap_or_default()
                .starts_with("not contacted"),
            "{callback:?}"
        );
        assert_eq!(callback.last_status_code, None);
        assert!(matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock));
    }

    /// Wait until no attempt of `d` is under way.
    async fn wait_idle(d: &Arc<Deliverer>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !d.in_flight.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "an attempt never ended"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_delivery_listed_before_its_attempt_ended_is_not_made_twice() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let probe = listener.try_clone().unwrap();
        let record = finished_job(&url, from_millis(1_800_000_000_000));
        let f = fixture(&record).await;
        let d = deliverer(&f, true);
        // A list of due deliveries read before the attempt below ended.
        let stale = f.store.due_callbacks(f.clock.now(), 10).await.unwrap();
        assert_eq!(stale.len(), 1);
        let receiver = std::thread::spawn(move || answer_one(&listener, 204));

        d.start(stale.clone()).await;
        let delivered = wait_for_attempts(&f, &record.id, 1).await;
        assert_eq!(delivered.state, DeliveryState::Delivered);
        receiver.join().unwrap();
        wait_idle(&d).await;

        // The stale list still names the delivery: it must not be made again.
        d.start(stale).await;
        wait_idle(&d).await;
        assert_eq!(callback_of(&f, &record.id).await.attempts, 1);
        probe.set_nonblocking(true).unwrap();
        assert!(
            probe.accept().is_err(),
            "a second attempt reached the receiver"
        );
    }

    async fn wait_for_attempts(f: &Fixture, id: &str, attempts: u32) -> Callback {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let callback = callback_of(f, id).await;
            if callback.attempts >= attempts {
                return callback;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no attempt {attempts}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn get_urls_carry_the_job_id() {
        assert_eq!(with_job_id("http://h/cb", "01"), "http://h/cb?jobId=01");
        assert_eq!(
            with_job_id("http://h/cb?x=1", "01"),
            "http://h/cb?x=1&jobId=01"
        );
    }
}
