//! The operations a sequence is made of, how each is sent, and how each is
//! printed as a curl command.
//!
//! A [`Step`] names a job by an index that is taken modulo the number of jobs
//! started so far in the case (deleted ones included), so that every index is
//! meaningful whatever came before; a step with no job to act on is a no-op,
//! and so is a step the model rules out (see [`execute`]).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::json;

use super::model::{Answer, Discrepancy, Kind, MAX_JOBS, Model, State};
use crate::config::SuiteConfig;
use crate::exchange::shell_quote;

/// The `X-Conformance-Check` value of every fuzzing request.
pub const CHECK_ID: &str = "fuzz";

/// The `Prefer: wait` of a synchronous `quick` or `failing` start.
const SYNC_WAIT: u64 = 2;
/// The `Prefer: wait` of a synchronous `hold` start (it always waits it out).
const SYNC_WAIT_HOLD: u64 = 1;
/// Pause between the polls of a [`Step::Wait`].
const POLL_PAUSE: Duration = Duration::from_millis(25);

/// One operation of a sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// `POST /v1/operations/probe/jobs`; with `sync`, `Prefer: wait=2`
    /// (`wait=1` for a `hold` job).
    Start {
        /// Which params.
        kind: Kind,
        /// Whether to ask for a synchronous answer.
        sync: bool,
    },
    /// `GET` the job URL.
    Get {
        /// The job (modulo the jobs started).
        job: usize,
    },
    /// `GET /result`.
    Result {
        /// The job (modulo the jobs started).
        job: usize,
    },
    /// Poll the job URL until the job is terminal.
    Wait {
        /// The job (modulo the jobs started).
        job: usize,
    },
    /// `POST /cancel`.
    Cancel {
        /// The job (modulo the jobs started).
        job: usize,
    },
    /// `DELETE` the job URL.
    Delete {
        /// The job (modulo the jobs started).
        job: usize,
    },
    /// `GET` the job URL with `waitSeconds` and `If-None-Match: <last ETag>`.
    LongPoll {
        /// The job (modulo the jobs started).
        job: usize,
        /// `waitSeconds`: 0 or 1.
        wait: u8,
    },
}

/// The strategy of a case: 1 to `max_steps` steps.
///
/// The alternatives are ordered from the simplest to the most expensive, and
/// every value shrinks towards cheap ones (a `quick` asynchronous start, job
/// 0, `waitSeconds=0`), since proptest shrinks a union towards its earlier
/// alternatives. Long polls and synchronous starts are rare, as they may take
/// a second or two each.
pub fn steps(max_steps: usize) -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 1..=max_steps.max(1))
}

fn step() -> impl Strategy<Value = Step> {
    let job = || 0..MAX_JOBS;
    let kind = prop_oneof![
        4 => Just(Kind::Quick),
        2 => Just(Kind::Failing),
        2 => Just(Kind::Hold),
    ];
    prop_oneof![
        6 => (kind, proptest::bool::weighted(0.15))
            .prop_map(|(kind, sync)| Step::Start { kind, sync }),
        5 => job().prop_map(|job| Step::Get { job }),
        3 => job().prop_map(|job| Step::Result { job }),
        3 => job().prop_map(|job| Step::Wait { job }),
        3 => job().prop_map(|job| Step::Cancel { job }),
        3 => job().prop_map(|job| Step::Delete { job }),
        1 => (job(), 0..=1u8).prop_map(|(job, wait)| Step::LongPoll { job, wait }),
    ]
}

/// The classes that decide which steps can be sent.
#[derive(Debug, Clone, Copy)]
pub struct Classes {
    /// `sync`: otherwise a synchronous start is sent without `Prefer`.
    pub sync: bool,
    /// `cancel`: otherwise cancel steps are no-ops.
    pub cancel: bool,
    /// `delete`: otherwise delete steps are no-ops.
    pub delete: bool,
    /// `long-poll`: otherwise long polls are no-ops.
    pub long_poll: bool,
}

/// The HTTP side: a client, the base URL and the headers every request
/// carries.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    base: String,
    /// The configured headers, then `X-Conformance-Run` and
    /// `X-Conformance-Check`.
    common: Vec<(String, String)>,
    probe: String,
    timeout: Duration,
}

/// A request: where it goes, both as sent and as a shell word.
#[derive(Debug, Clone)]
pub struct Req {
    method: Method,
    url: String,
    /// The URL as the printed curl command names it (`"$JOB1/result"`).
    shell_url: String,
    headers: Vec<(String, String)>,
    body: Option<String>,
    timeout: Duration,
}

/// A request that got no answer.
#[derive(Debug, Clone)]
pub struct NoAnswer(pub String);

impl Http {
    /// The client for `config` (no redirects followed).
    pub fn new(config: &SuiteConfig) -> anyhow::Result<Http> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("longrun-conformance/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let mut common = config.headers.clone();
        common.push(("X-Conformance-Run".into(), config.run_id.clone()));
        common.push(("X-Conformance-Check".into(), CHECK_ID.into()));
        for (name, value) in &common {
            HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| anyhow::anyhow!("bad header name {name:?}: {e}"))?;
            HeaderValue::from_str(value)
                .map_err(|e| anyhow::anyhow!("bad header value for {name}: {e}"))?;
        }
        Ok(Http {
            client,
            base: config.base_url.as_str().trim_end_matches('/').to_owned(),
            common,
            probe: config.probe_operation.clone(),
            timeout: config.timeouts.request,
        })
    }

    /// A request to a path of the server (`/v1`).
    pub fn path(&self, method: Method, path: &str) -> Req {
        let url = format!("{}{path}", self.base);
        Req {
            method,
            shell_url: shell_quote(&url),
            url,
            headers: Vec::new(),
            body: None,
            timeout: self.timeout,
        }
    }

    /// A request to job `number`'s URL `url` followed by `suffix`.
    fn job(&self, method: Method, number: usize, url: &str, suffix: &str) -> Req {
        Req {
            method,
            url: format!("{url}{suffix}"),
            shell_url: format!("\"$JOB{number}{suffix}\""),
            headers: Vec::new(),
            body: None,
            timeout: self.timeout,
        }
    }

    /// The start of a `kind` job, with `Prefer: wait=<wait>` when given.
    fn start(&self, kind: Kind, wait: Option<u64>) -> Req {
        let mut req = self.path(Method::POST, &format!("/v1/operations/{}/jobs", self.probe));
        req.headers
            .push(("Content-Type".into(), "application/json".into()));
        if let Some(wait) = wait {
            req.headers.push(("Prefer".into(), format!("wait={wait}")));
            req.timeout += Duration::from_secs(wait);
        }
        req.body = Some(json!({"params": kind.params()}).to_string());
        req
    }

    /// Send `req` and read the whole answer.
    pub async fn send(&self, req: &Req) -> Result<Answer, NoAnswer> {
        let mut headers = HeaderMap::new();
        for (name, value) in self.common.iter().chain(&req.headers) {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| NoAnswer(format!("bad header name {name:?}: {e}")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|e| NoAnswer(format!("bad header value {value:?}: {e}")))?;
            headers.append(name, value);
        }
        let mut builder = self
            .client
            .request(req.method.clone(), &req.url)
            .headers(headers)
            .timeout(req.timeout);
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let began = Instant::now();
        let what = format!("{} {}", req.method, req.url);
        let response = builder
            .send()
            .await
            .map_err(|e| NoAnswer(format!("{what}: {e}")))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map_err(|e| NoAnswer(format!("{what}: reading the body: {e}")))?;
        Ok(Answer {
            status,
            headers,
            body: body.to_vec(),
            elapsed: began.elapsed(),
        })
    }

    /// `req` as a curl command; `capture` names the job variable a start sets
    /// from its `Location`.
    pub fn curl(&self, req: &Req, capture: Option<usize>) -> String {
        let mut cmd = String::from(if capture.is_some() {
            "curl -si"
        } else {
            "curl -i"
        });
        self.curl_args(&mut cmd, req);
        match capture {
            Some(number) => format!(
                "JOB{number}=$({cmd} | tee /dev/stderr | sed -n 's/^location: //Ip' | tr -d '\\r')"
            ),
            None => cmd,
        }
    }

    fn curl_args(&self, cmd: &mut String, req: &Req) {
        if req.method != Method::GET {
            cmd.push_str(" -X ");
            cmd.push_str(req.method.as_str());
        }
        cmd.push(' ');
        cmd.push_str(&req.shell_url);
        for (name, value) in self.common.iter().chain(&req.headers) {
            cmd.push_str(" -H ");
            cmd.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        if let Some(body) = &req.body {
            cmd.push_str(" --data-binary ");
            cmd.push_str(&shell_quote(body));
        }
    }

    /// A shell loop that polls `req` until the job is terminal, then shows it.
    fn curl_until_terminal(&self, req: &Req) -> String {
        let mut quiet = String::from("curl -s");
        self.curl_args(&mut quiet, req);
        format!(
            "until {quiet} | grep -Eq '\"status\": *\"(succeeded|failed|canceled)\"'; do sleep 0.1; done; {}",
            self.curl(req, None)
        )
    }
}

/// Why a step did not pass.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The server answered something the model does not allow.
    Discrepancy(Discrepancy),
    /// No answer came (the server is gone or hangs).
    NoAnswer(String),
}

/// A step that was sent.
#[derive(Debug, Clone)]
pub struct Record {
    /// What it did, in words (`delete job 1`).
    pub description: String,
    /// The shell command that repeats it.
    pub curl: String,
    /// A summary of the (last) answer.
    pub answer: Option<String>,
    /// How many requests it made.
    pub requests: usize,
    /// Whether the model allowed the answers.
    pub outcome: Result<(), Failure>,
}

impl Record {
    fn new(description: String, curl: String) -> Record {
        Record {
            description,
            curl,
            answer: None,
            requests: 0,
            outcome: Ok(()),
        }
    }
}

/// Send `step` (when the model says it can be sent), judge the answer and
/// update the model. `None` is a no-op: no job to act on, a class the server
/// does not claim, a start beyond [`MAX_JOBS`] or beyond the `hold` limit of
/// [`Model::hold_limit`], or a wait for a `hold` job (which never ends) or for
/// a job that may be queued behind `hold` jobs filling every worker.
pub async fn execute(
    step: Step,
    model: &mut Model,
    http: &Http,
    classes: Classes,
    job_timeout: Duration,
) -> Option<Record> {
    match step {
        Step::Start { kind, sync } => {
            if model.jobs.len() >= MAX_JOBS {
                return None;
            }
            if kind == Kind::Hold
                && (model.holds_active() >= model.hold_limit()
                    || !(classes.cancel || classes.delete))
            {
                return None;
            }
            let wait = (sync && classes.sync).then_some(if kind == Kind::Hold {
                SYNC_WAIT_HOLD
            } else {
                SYNC_WAIT
            });
            let req = http.start(kind, wait);
            let number = model.jobs.len() + 1;
            let description = match wait {
                None => format!("start a {} job (params {})", kind.name(), kind.params()),
                Some(w) => format!(
                    "start a {} job with Prefer: wait={w} (params {})",
                    kind.name(),
                    kind.params()
                ),
            };
            let mut record = Record::new(description, http.curl(&req, Some(number)));
            send_and_judge(http, &req, &mut record, |answer| {
                model.start(kind, wait, answer)
            })
            .await;
            Some(record)
        }
        Step::Get { job } => {
            let index = model.resolve(job)?;
            let job = &mut model.jobs[index];
            let req = http.job(Method::GET, job.number, &job.url, "");
            let mut record = Record::new(format!("GET job {}", job.number), http.curl(&req, None));
            send_and_judge(http, &req, &mut record, |answer| job.get(answer)).await;
            Some(record)
        }
        Step::Result { job } => {
            let index = model.resolve(job)?;
            let job = &mut model.jobs[index];
            let req = http.job(Method::GET, job.number, &job.url, "/result");
            let mut record = Record::new(
                format!("GET the result of job {}", job.number),
                http.curl(&req, None),
            );
            send_and_judge(http, &req, &mut record, |answer| job.result(answer)).await;
            Some(record)
        }
        Step::Cancel { job } => {
            if !classes.cancel {
                return None;
            }
            let index = model.resolve(job)?;
            let job = &mut model.jobs[index];
            let req = http.job(Method::POST, job.number, &job.url, "/cancel");
            let mut record =
                Record::new(format!("cancel job {}", job.number), http.curl(&req, None));
            send_and_judge(http, &req, &mut record, |answer| job.cancel(answer)).await;
            Some(record)
        }
        Step::Delete { job } => {
            if !classes.delete {
                return None;
            }
            let index = model.resolve(job)?;
            let job = &mut model.jobs[index];
            let req = http.job(Method::DELETE, job.number, &job.url, "");
            let mut record =
                Record::new(format!("delete job {}", job.number), http.curl(&req, None));
            send_and_judge(http, &req, &mut record, |answer| job.delete(answer)).await;
            Some(record)
        }
        Step::LongPoll { job, wait } => {
            if !classes.long_poll {
                return None;
            }
            let index = model.resolve(job)?;
            let job = &mut model.jobs[index];
            let wait = u64::from(wait);
            let mut req = http.job(
                Method::GET,
                job.number,
                &job.url,
                &format!("?waitSeconds={wait}"),
            );
            req.timeout += Duration::from_secs(wait);
            let sent = job.etag.clone();
            let description = match &sent {
                Some(tag) => format!(
                    "long-poll job {} with waitSeconds={wait} and If-None-Match: {tag} (the last ETag seen)",
                    job.number
                ),
                None => format!(
                    "long-poll job {} with waitSeconds={wait} (no ETag seen yet)",
                    job.number
                ),
            };
            if let Some(tag) = &sent {
                req.headers.push(("If-None-Match".into(), tag.clone()));
            }
            let mut record = Record::new(description, http.curl(&req, None));
            send_and_judge(http, &req, &mut record, |answer| {
                job.long_poll(sent.as_deref(), wait, answer)
            })
            .await;
            Some(record)
        }
        Step::Wait { job } => {
            let index = model.resolve(job)?;
            let workers_full = model.workers_full();
            let job = &mut model.jobs[index];
            match job.state {
                State::Holding => return None,
                State::Settling(_) if workers_full => return None,
                _ => {}
            }
            let req = http.job(Method::GET, job.number, &job.url, "");
            let mut record = Record::new(
                format!("poll job {} until it is terminal", job.number),
                http.curl_until_terminal(&req),
            );
            let began = Instant::now();
            loop {
                send_and_judge(http, &req, &mut record, |answer| job.get(answer)).await;
                if record.outcome.is_err() || !matches!(job.state, State::Settling(_)) {
                    break;
                }
                if began.elapsed() > job_timeout {
                    record.outcome = Err(Failure::Discrepancy(Discrepancy {
                        requirement: "PROBE-3",
                        expected: format!(
                            "a {} probe job (no duration) to end within the job timeout of {} s",
                            job.kind.name(),
                            job_timeout.as_secs()
                        ),
                        got: format!("still active after {} polls", record.requests),
                    }));
                    break;
                }
                tokio::time::sleep(POLL_PAUSE).await;
            }
            Some(record)
        }
    }
}

async fn send_and_judge(
    http: &Http,
    req: &Req,
    record: &mut Record,
    judge: impl FnOnce(&Answer) -> Result<(), Discrepancy>,
) {
    record.requests += 1;
    match http.send(req).await {
        Ok(answer) => {
            record.answer = Some(answer.summary());
            record.outcome = judge(&answer).map_err(Failure::Discrepancy);
        }
        Err(NoAnswer(e)) => record.outcome = Err(Failure::NoAnswer(e)),
    }
}

/// Remove what a case left behind, so that `hold` jobs never pile up in the
/// server's workers: delete every job not yet deleted (or, without `delete`,
/// cancel every active one). The answers are not judged.
pub async fn clean_up(model: &Model, http: &Http, classes: Classes) {
    for job in &model.jobs {
        let req = match job.state {
            State::Deleted => continue,
            _ if classes.delete => http.job(Method::DELETE, job.number, &job.url, ""),
            State::Holding | State::Settling(_) if classes.cancel => {
                http.job(Method::POST, job.number, &job.url, "/cancel")
            }
            _ => continue,
        };
        let _ = http.send(&req).await;
    }
}
