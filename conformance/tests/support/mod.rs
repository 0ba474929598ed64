//! Test support: the runner started in-process on a loopback port, and the suite
//! run against it.

#![allow(dead_code)]

pub mod proxy;

use std::path::{Path, PathBuf};

use longrun::config::Config;
use longrun_conformance::config::SuiteConfig;
use longrun_conformance::report::RunReport;
use longrun_conformance::{checks, suite};

/// A runner serving on `127.0.0.1:<port>` until dropped.
pub struct Runner {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Compiled plugins are shared by every runner of the tests.
fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance-component-cache")
}

/// The configuration the suite's own tests run the runner with: enough workers
/// for the checks to run side by side, a queue and size limits small enough to
/// reach, and private networks allowed so that callbacks reach the loopback
/// receiver.
pub fn test_config(data_dir: &Path) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: data_dir.to_path_buf(),
        cache_dir: Some(cache_dir()),
        workers: 8,
        queue_size: 16,
        allow_private_networks: true,
        ..Config::default()
    };
    config.callbacks.timeout = std::time::Duration::from_secs(2);
    // Small enough that the checks of the size limits can reach them.
    config.limits.max_body_bytes = 512 * 1024;
    config.limits.max_input_bytes = 64 * 1024;
    config
}

/// Start a runner with [`test_config`], changed by `adjust`.
pub async fn start_runner(adjust: impl FnOnce(&mut Config)) -> Runner {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut config = test_config(&dir.path().join("data"));
    adjust(&mut config);
    let server = longrun::server::Server::start(config)
        .await
        .expect("the runner starts");
    let base = format!("http://{}", server.local_addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));
    Runner {
        base,
        stop: Some(stop),
        _dir: dir,
    }
}

/// A suite configuration for the server at `base`.
pub fn suite_config(base: &str) -> SuiteConfig {
    SuiteConfig::new(base.parse().expect("a base URL"))
}

/// Run the checks `config` selects.
pub async fn run_suite(config: SuiteConfig) -> RunReport {
    let selected = suite::select(&checks::all(), &config).expect("a valid selection");
    suite::run(config, selected).await.expect("the suite runs")
}
