//! The `longrun` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{CallbackLimits, Config, Limits};

/// longrun: a self-hosted runner for long-running operations.
#[derive(Debug, Parser)]
#[command(name = "longrun", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the job server.
    Serve(Box<ServeArgs>),
    /// Write, check and try out plugins, without a server.
    #[command(subcommand)]
    Plugin(crate::authoring::PluginCommand),
}

/// Options of `longrun serve`; each can also be set by its environment variable.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the actual address is printed).
    #[arg(long, env = "LONGRUN_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded store, results and logs.
    #[arg(long, env = "LONGRUN_DATA_DIR", default_value = "./longrun-data")]
    pub data_dir: PathBuf,
    /// Directory of extra plugins: every *.wasm in it is loaded at start, and new, changed and removed files are picked up while serving.
    #[arg(long, env = "LONGRUN_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
    /// How often the plugins directory is looked at for changes, in seconds (e.g. 0.5); 0 turns watching off.
    #[arg(long, env = "LONGRUN_PLUGINS_POLL_INTERVAL", default_value_t = 1.0)]
    pub plugins_poll_interval: f64,
    /// Directory where compiled plugins are cached [default: <data-dir>/cache].
    #[arg(long, env = "LONGRUN_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The most disk the compiled-plugin cache may take, in MiB; the least recently used entries go first.
    #[arg(long, env = "LONGRUN_CACHE_MAX_MIB", default_value_t = 2048)]
    pub cache_max_mib: u64,
    /// Plugin worker threads [default: the number of cores].
    #[arg(long, env = "LONGRUN_WORKERS")]
    pub workers: Option<usize>,
    /// The most jobs that may wait in the queue before starts get 503.
    #[arg(long, env = "LONGRUN_QUEUE_SIZE", default_value_t = 1024)]
    pub queue_size: usize,
    /// Let URL inputs reach loopback, private and link-local addresses.
    #[arg(long, env = "LONGRUN_ALLOW_PRIVATE_NETWORKS")]
    pub allow_private_networks: bool,
    /// Base URL clients reach this server at (for Location and links), e.g. https://jobs.example.com.
    #[arg(long, env = "LONGRUN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Directory that {"file": ...} inputs are read from; file inputs are off without it.
    #[arg(long, env = "LONGRUN_INPUT_ROOT")]
    pub input_root: Option<PathBuf>,
    /// Directory that output.file results are written to; output files are off without it.
    #[arg(long, env = "LONGRUN_OUTPUT_ROOT")]
    pub output_root: Option<PathBuf>,
    /// Memory cap of one plugin run, in MiB.
    #[arg(long, env = "LONGRUN_MEMORY_LIMIT_MIB", default_value_t = 512)]
    pub memory_limit_mib: u64,
    /// How many times a job may be started before a crash fails it for good.
    #[arg(long, env = "LONGRUN_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// TTL of finished jobs that ask for none, in seconds.
    #[arg(long, env = "LONGRUN_DEFAULT_TTL", default_value_t = 3600)]
    pub default_ttl: u64,
    /// The longest TTL a job may ask for, in seconds.
    #[arg(long, env = "LONGRUN_MAX_TTL", default_value_t = 7 * 24 * 3600)]
    pub max_ttl: u64,
    /// Run deadline of jobs that ask for none, in seconds.
    #[arg(long, env = "LONGRUN_DEFAULT_TIMEOUT", default_value_t = 600)]
    pub default_timeout: u64,
    /// The longest run deadline a job may ask for, in seconds.
    #[arg(long, env = "LONGRUN_MAX_TIMEOUT", default_value_t = 3600)]
    pub max_timeout: u64,
    /// The longest a request may wait (Prefer: wait, waitSeconds), in seconds.
    #[arg(long, env = "LONGRUN_MAX_WAIT", default_value_t = 60)]
    pub max_wait: u64,
    /// The largest request body, in bytes.
    #[arg(long, env = "LONGRUN_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Signs every callback whose job brings no secret (Standard Webhooks; `whsec_` + base64, or plain text).
    #[arg(long, env = "LONGRUN_CALLBACK_SECRET", hide_env_values = true)]
    pub callback_secret: Option<String>,
    /// Attempts of a callback that asks for no number.
    #[arg(long, env = "LONGRUN_CALLBACK_MAX_ATTEMPTS", default_value_t = 5)]
    pub callback_max_attempts: u32,
    /// Initial wait between callback attempts, in seconds, for callbacks that ask for none.
    #[arg(long, env = "LONGRUN_CALLBACK_INTERVAL", default_value_t = 5)]
    pub callback_interval: u64,
    /// How long one callback attempt may take, in seconds.
    #[arg(long, env = "LONGRUN_CALLBACK_TIMEOUT", default_value_t = 10)]
    pub callback_timeout: u64,
    /// The largest single input, in bytes.
    #[arg(long, env = "LONGRUN_MAX_INPUT_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_input_bytes: usize,
}

impl ServeArgs {
    /// The configuration these options describe.
    pub fn into_config(self) -> anyhow::Result<Config> {
        let defaults = Config::default();
        if self.default_ttl > self.max_ttl {
            anyhow::bail!(
                "--default-ttl ({}) is larger than --max-ttl ({})",
                self.default_ttl,
                self.max_ttl
            );
        }
        if self.default_timeout > self.max_timeout || self.default_timeout == 0 {
            anyhow::bail!(
                "--default-timeout ({}) must be between 1 and --max-timeout ({})",
                self.default_timeout,
                self.max_timeout
            );
        }
        if let Some(url) = &self.public_url {
            let parsed = url::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("--public-url `{url}` is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                anyhow::bail!("--public-url `{url}` must be http or https");
            }
        }
        let plugins_poll_interval =
            std::time::Duration::try_from_secs_f64(self.plugins_poll_interval).map_err(|_| {
                anyhow::anyhow!(
                    "--plugins-poll-interval must be a number of seconds, 0 or more, not {}",
                    self.plugins_poll_interval
                )
            })?;
        let callbacks = CallbackLimits::default();
        if self.callback_max_attempts == 0 || self.callback_max_attempts > callbacks.max_attempts {
            anyhow::bail!(
                "--callback-max-attempts must be between 1 and {}",
                callbacks.max_attempts
            );
        }
        if self.callback_interval < callbacks.min_interval_seconds
            || self.callback_interval > callbacks.max_interval_seconds
        {
            anyhow::bail!(
                "--callback-interval must be between {} and {} seconds",
                callbacks.min_interval_seconds,
                callbacks.max_interval_seconds
            );
        }
        if self.callback_timeout == 0 {
            anyhow::bail!("--callback-timeout must be at least 1 second");
        }
        Ok(Config {
            listen: self.listen,
            data_dir: self.data_dir,
            plugins_dir: self.plugins_dir,
            plugins_poll_interval,
            cache_dir: self.cache_dir,
            cache_max_bytes: self.cache_max_mib.saturating_mul(1024 * 1024),
            workers: self.workers.unwrap_or(defaults.workers).max(1),
            queue_size: self.queue_size,
            allow_private_networks: self.allow_private_networks,
            public_url: self.public_url,
            input_root: self.input_root,
            output_root: self.output_root,
            memory_limit_bytes: self.memory_limit_mib * 1024 * 1024,
            max_attempts: self.max_attempts.max(1),
            limits: Limits {
                default_ttl_seconds: self.default_ttl,
                max_ttl_seconds: self.max_ttl,
                default_timeout_seconds: self.default_timeout,
                max_timeout_seconds: self.max_timeout,
                max_wait_seconds: self.max_wait,
                max_body_bytes: self.max_body_bytes,
                max_input_bytes: self.max_input_bytes,
                ..Limits::default()
            },
            callbacks: CallbackLimits {
                default_max_attempts: self.callback_max_attempts,
                default_interval_seconds: self.callback_interval,
                timeout: std::time::Duration::from_secs(self.callback_timeout),
                secret: self.callback_secret,
                ..callbacks
            },
            ..defaults
        })
    }
}
