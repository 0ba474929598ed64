//! The runner's settings, with their defaults. The CLI (`cli.rs`) fills them in.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Limits the runner enforces and advertises in its service document.
#[derive(Debug, Clone)]
pub struct Limits {
    /// TTL of a job that asks for none.
    pub default_ttl_seconds: u64,
    /// The shortest TTL a job may ask for.
    pub min_ttl_seconds: u64,
    /// The longest TTL a job may ask for.
    pub max_ttl_seconds: u64,
    /// The longest a request may wait (`Prefer: wait`, `waitSeconds`).
    pub max_wait_seconds: u64,
    /// Run deadline of a job that asks for none.
    pub default_timeout_seconds: u64,
    /// The longest run deadline a job may ask for.
    pub max_timeout_seconds: u64,
    /// The largest request body.
    pub max_body_bytes: usize,
    /// The largest single input (including fetched URLs and files).
    pub max_input_bytes: usize,
    /// The most jobs a list page holds.
    pub max_page_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_ttl_seconds: 3600,
            min_ttl_seconds: 1,
            max_ttl_seconds: 7 * 24 * 3600,
            max_wait_seconds: 60,
            default_timeout_seconds: 600,
            max_timeout_seconds: 3600,
            max_body_bytes: 64 * 1024 * 1024,
            max_input_bytes: 64 * 1024 * 1024,
            max_page_size: 100,
        }
    }
}

/// Bounds and defaults of callbacks, and the server-wide signing secret.
#[derive(Debug, Clone)]
pub struct CallbackLimits {
    /// The most attempts a callback may ask for.
    pub max_attempts: u32,
    /// Attempts of a callback that asks for no number.
    pub default_max_attempts: u32,
    /// The shortest initial interval a callback may ask for.
    pub min_interval_seconds: u64,
    /// The longest wait between attempts (also caps backoff and `Retry-After`).
    pub max_interval_seconds: u64,
    /// The initial interval of a callback that asks for none.
    pub default_interval_seconds: u64,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// Signs every callback whose job brings no secret of its own.
    pub secret: Option<String>,
}

impl Default for CallbackLimits {
    fn default() -> Self {
        Self {
            max_attempts: 20,
            default_max_attempts: 5,
            min_interval_seconds: 1,
            max_interval_seconds: 3600,
            default_interval_seconds: 5,
            timeout: Duration::from_secs(10),
            secret: None,
        }
    }
}

/// Everything `longrun serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store, results and logs live here.
    pub data_dir: PathBuf,
    /// Extra plugins: every `*.wasm` here is loaded at start, and the
    /// directory is watched for new, changed and removed files.
    pub plugins_dir: Option<PathBuf>,
    /// How often the plugins directory is looked at for changes; zero turns
    /// watching off (the plugins loaded at start stay as they are).
    pub plugins_poll_interval: Duration,
    /// Compiled plugins are cached here (default `<data-dir>/cache`).
    pub cache_dir: Option<PathBuf>,
    /// The most bytes the compiled-plugin cache may take.
    pub cache_max_bytes: u64,
    /// Plugin worker threads.
    pub workers: usize,
    /// The most jobs that may wait in the queue.
    pub queue_size: usize,
    /// Whether URL inputs may reach loopback, private and link-local addresses.
    pub allow_private_networks: bool,
    /// The base URL clients reach the runner at, e.g. `https://jobs.example.com`;
    /// absolute URLs are built from the request's Host header when unset.
    pub public_url: Option<String>,
    /// `{"file": …}` inputs are read relative to this directory; off when unset.
    pub input_root: Option<PathBuf>,
    /// `output.file` results are written relative to this directory; off when unset.
    pub output_root: Option<PathBuf>,
    /// Per-job memory cap of a plugin.
    pub memory_limit_bytes: u64,
    /// How many times a job may be started before a crash fails it for good.
    pub max_attempts: u32,
    /// The most bytes a job's log keeps.
    pub max_log_bytes: u64,
    /// How long fetching a URL input may take.
    pub fetch_timeout: Duration,
    /// The limits.
    pub limits: Limits,
    /// Callback bounds, defaults and signing.
    pub callbacks: CallbackLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("a valid address"),
            data_dir: PathBuf::from("longrun-data"),
            plugins_dir: None,
            plugins_poll_interval: Duration::from_secs(1),
            cache_dir: None,
            cache_max_bytes: 2 << 30,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_size: 1024,
            allow_private_networks: false,
            public_url: None,
            input_root: None,
            output_root: None,
            memory_limit_bytes: 512 * 1024 * 1024,
            max_attempts: 3,
            max_log_bytes: 1024 * 1024,
            fetch_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            callbacks: CallbackLimits::default(),
        }
    }
}
