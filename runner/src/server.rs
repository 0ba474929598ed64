//! Wiring: from a [`Config`] to a serving runner.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::callbacks::{Deliverer, DeliveryConfig};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::jobs::{Jobs, JobsConfig, PluginExecutor};
use crate::operations::reload::{self, PluginSources, Watch};
use crate::operations::{OperationSet, Operations};
use crate::plugin::{self, HostConfig, PluginHost};
use crate::store::{JobFiles, JobStore, SqliteStore};

/// A started runner: its address and the server future.
pub struct Server {
    /// Where it listens.
    pub local_addr: SocketAddr,
    router: axum::Router,
    listener: TcpListener,
    /// Runs the plugins; kept for as long as the server serves.
    _host: Arc<PluginHost>,
    /// Keeps the operations in step with the plugins directory, if watched;
    /// stops when the server is dropped.
    watch: Option<Watch>,
}

impl Server {
    /// Open the store, load the plugins, recover unfinished jobs and bind the
    /// listener.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "could not create the data directory {}",
                config.data_dir.display()
            )
        })?;
        let cache_dir = config
            .cache_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("cache"));
        std::fs::create_dir_all(&cache_dir).with_context(|| {
            format!(
                "could not create the cache directory {}",
                cache_dir.display()
            )
        })?;

        let host = Arc::new(PluginHost::new(HostConfig {
            cache_dir: Some(cache_dir),
            cache_max_bytes: config.cache_max_bytes,
            memory_limit_bytes: config.memory_limit_bytes,
            max_instances: (config.workers as u32) * 2 + 16,
            ..HostConfig::default()
        })?);
        // Compiling is CPU-heavy: off the async workers.
        let loading_host = host.clone();
        let plugins_dir = config.plugins_dir.clone();
        let mut sources = tokio::task::spawn_blocking(move || {
            PluginSources::load(loading_host, plugin::bundled(), plugins_dir.as_deref())
        })
        .await??;
        let offered = sources.offered();
        reload::log_changes(&OperationSet::default(), &offered);
        let operations = Arc::new(Operations::new(offered));
        let watch = (sources.dir().is_some() && !config.plugins_poll_interval.is_zero())
            .then(|| reload::watch(sources, operations.clone(), config.plugins_poll_interval));

        let store: Arc<dyn JobStore> =
            Arc::new(SqliteStore::open(&config.data_dir.join("longrun.db"))?);
        let files = JobFiles::open(&config.data_dir)?;
        // Inputs of requests that were arriving when the server last stopped.
        crate::store::clear_staging(&config.data_dir).with_context(|| {
            format!(
                "could not clear the staging directory in {}",
                config.data_dir.display()
            )
        })?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let jobs = Jobs::start(
            store.clone(),
            files.clone(),
            clock.clone(),
            Arc::new(PluginExecutor::new(operations.clone())),
            JobsConfig {
                workers: config.workers,
                queue_size: config.queue_size,
                max_attempts: config.max_attempts,
                max_log_bytes: config.max_log_bytes,
                output_root: config.output_root.clone(),
                ..JobsConfig::default()
            },
        )
        .await?;

        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let local_addr = listener.local_addr()?;

        let base_url = config
            .public_url
            .clone()
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| format!("http://{local_addr}"));
        let deliverer = Deliverer::new(
            store,
            files,
            clock,
            DeliveryConfig {
                allow_private_networks: config.allow_private_networks,
                secret: config.callbacks.secret.clone(),
                timeout: config.callbacks.timeout,
                max_interval: Duration::from_secs(config.callbacks.max_interval_seconds),
                base_url,
                concurrency: 64,
            },
            jobs.callbacks_ready(),
        );
        // Deliveries run on their own tasks, apart from the plugin workers.
        tokio::spawn(deliverer.run());

        let state = AppState {
            jobs,
            operations,
            config: Arc::new(config),
            local_addr,
        };
        Ok(Server {
            local_addr,
            router: api::router(state),
            listener,
            _host: host,
            watch,
        })
    }

    /// How many scans of the plugins directory have completed, changing after
    /// each; `None` when the directory is not watched. The second scan to
    /// complete after a change to the directory has seen the change.
    pub fn plugin_scans(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        self.watch.as_ref().map(Watch::scans)
    }

    /// Serve until `shutdown` completes.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed")
    }
}
