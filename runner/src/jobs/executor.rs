//! The seam between the job engine and what actually runs a job.
//!
//! The runner executes jobs with [`PluginExecutor`], which runs the operation's
//! WebAssembly plugin; tests of the engine substitute their own [`Executor`].

use std::sync::Arc;

use crate::plugin::{Output, Registry, RunControl, RunFailure, RunRequest};

/// Runs one attempt of a job. Called on a worker thread; may block.
pub trait Executor: Send + Sync + 'static {
    /// The stages of `operation`, in order (empty if it has none or is unknown).
    fn stages(&self, operation: &str) -> Vec<String>;

    /// Run `operation` to the end, reporting through `control`.
    fn execute(
        &self,
        operation: &str,
        request: RunRequest,
        control: Arc<dyn RunControl>,
    ) -> Result<Output, RunFailure>;
}

/// Runs jobs with the plugins of a [`Registry`].
pub struct PluginExecutor {
    registry: Arc<Registry>,
}

impl PluginExecutor {
    /// An executor over `registry`.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { registry }
    }
}

impl Executor for PluginExecutor {
    fn stages(&self, operation: &str) -> Vec<String> {
        self.registry
            .get(operation)
            .map(|plugin| plugin.description().stages.clone())
            .unwrap_or_default()
    }

    fn execute(
        &self,
        operation: &str,
        request: RunRequest,
        control: Arc<dyn RunControl>,
    ) -> Result<Output, RunFailure> {
        match self.registry.get(operation) {
            Some(plugin) => plugin.run_shared(request, control),
            None => Err(RunFailure::Runner(format!(
                "the operation `{operation}` is no longer loaded in this runner"
            ))),
        }
    }
}
