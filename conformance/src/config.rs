//! How a run is configured: the server, the selection, the clock and the receiver.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

/// Named timeouts of the harness. `--time-scale` multiplies each of them; time
/// bounds that the protocol itself states (answer within 1 second, cancel within
/// 5 seconds) are never scaled.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// One request and its answer.
    #[serde(with = "seconds")]
    pub request: Duration,
    /// A short `probe` job, from start to a terminal status.
    #[serde(with = "seconds")]
    pub job: Duration,
    /// A callback delivery attempt to reach the receiver.
    #[serde(with = "seconds")]
    pub callback: Duration,
    /// The multiplier already applied to the values above.
    pub scale: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            request: Duration::from_secs(10),
            job: Duration::from_secs(30),
            callback: Duration::from_secs(15),
            scale: 1.0,
        }
    }
}

impl Timeouts {
    /// These timeouts multiplied by `scale`.
    pub fn scaled(self, scale: f64) -> Timeouts {
        Timeouts {
            request: self.request.mul_f64(scale),
            job: self.job.mul_f64(scale),
            callback: self.callback.mul_f64(scale),
            scale: self.scale * scale,
        }
    }

    /// A harness wait of `base`, scaled.
    pub fn scale(&self, base: Duration) -> Duration {
        base.mul_f64(self.scale)
    }
}

mod seconds {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct SuiteConfig {
    /// The server's base URL, without `/v1` (for example `http://127.0.0.1:8080`).
    pub base_url: url::Url,
    /// Run only checks matching one of these patterns (all when empty).
    pub only: Vec<String>,
    /// Leave out checks matching one of these patterns.
    pub skip: Vec<String>,
    /// Treat a broken SHOULD as a failure.
    pub strict: bool,
    /// Headers sent with every request (authentication, for example).
    pub headers: Vec<(String, String)>,
    /// The harness's timeouts.
    pub timeouts: Timeouts,
    /// The operation the checks drive (section 21).
    pub probe_operation: String,
    /// Where the callback receiver listens.
    pub callback_bind: SocketAddr,
    /// The base URL the server is told to call back (defaults to
    /// `http://<callback_bind>` with the port actually bound).
    pub callback_url: Option<url::Url>,
    /// How many checks run at once.
    pub concurrency: usize,
    /// Identifies this run in `X-Conformance-Run`.
    pub run_id: String,
}

impl SuiteConfig {
    /// A configuration with the defaults for a server at `base_url`.
    pub fn new(base_url: url::Url) -> SuiteConfig {
        SuiteConfig {
            base_url,
            only: Vec::new(),
            skip: Vec::new(),
            strict: false,
            headers: Vec::new(),
            timeouts: Timeouts::default(),
            probe_operation: "probe".to_owned(),
            callback_bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            callback_url: None,
            concurrency: 16,
            run_id: uuid::Uuid::now_v7().to_string(),
        }
    }
}

/// The configuration as a report shows it: header values are redacted, since
/// they usually carry credentials.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigSummary {
    /// The `X-Conformance-Run` value.
    pub run_id: String,
    /// The server's base URL.
    pub base_url: String,
    /// `--only` patterns.
    pub only: Vec<String>,
    /// `--skip` patterns.
    pub skip: Vec<String>,
    /// `--strict`.
    pub strict: bool,
    /// Header names, with values redacted.
    pub headers: Vec<String>,
    /// The timeouts.
    pub timeouts: Timeouts,
    /// The operation driven.
    pub probe_operation: String,
    /// Where the receiver listened.
    pub callback_bind: String,
    /// The URL the server was told to call.
    pub callback_url: String,
    /// Checks at once.
    pub concurrency: usize,
}

impl SuiteConfig {
    /// The configuration as reports show it.
    pub fn summary(&self, callback_bind: SocketAddr, callback_url: &str) -> ConfigSummary {
        ConfigSummary {
            run_id: self.run_id.clone(),
            base_url: self.base_url.to_string(),
            only: self.only.clone(),
            skip: self.skip.clone(),
            strict: self.strict,
            headers: self
                .headers
                .iter()
                .map(|(name, _)| format!("{name}: (redacted)"))
                .collect(),
            timeouts: self.timeouts,
            probe_operation: self.probe_operation.clone(),
            callback_bind: callback_bind.to_string(),
            callback_url: callback_url.to_owned(),
            concurrency: self.concurrency,
        }
    }
}
