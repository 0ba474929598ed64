//! The seam between the job engine and what actually runs a job.
//!
//! The runner executes jobs with [`PluginExecutor`], which runs the operation's
//! WebAssembly plugin; tests of the engine substitute their own [`Executor`].
//!
//! The plugins on offer can change while jobs wait and run (the plugins
//! directory is reloaded, see [`crate::operations::reload`]). So the engine
//! asks [`Executor::resolve`] once, when an attempt starts, which plugin the
//! attempt runs, and runs exactly that one to the end of the attempt whatever
//! is offered meanwhile.

use std::sync::Arc;

use crate::operations::Operations;
use crate::plugin::{Output, Plugin, RunControl, RunFailure, RunRequest};

/// What an attempt of an operation runs, fixed when the attempt starts.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// This plugin, whatever is offered later; the job records its version
    /// and SHA-256.
    Plugin(Plugin),
    /// Whatever [`Executor::execute`] runs for the operation's name: for
    /// executors that do not run plugins (the scripted ones of tests). The job
    /// keeps the version it was submitted with and records no SHA-256.
    ByName,
}

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

    /// What an attempt of `operation` starting now runs; an error, the detail
    /// of the job's `runner-error`, when the operation is no longer offered.
    /// The default runs by name ([`Resolved::ByName`]).
    fn resolve(&self, operation: &str) -> Result<Resolved, String> {
        let _ = operation;
        Ok(Resolved::ByName)
    }
}

/// Runs jobs with the plugins on offer in [`Operations`].
pub struct PluginExecutor {
    operations: Arc<Operations>,
}

impl PluginExecutor {
    /// An executor over the operations offered by `operations`, as they are
    /// when each attempt starts.
    pub fn new(operations: Arc<Operations>) -> Self {
        Self { operations }
    }
}

/// The detail of the `runner-error` of a job whose operation went away.
fn no_longer_offered(operation: &str) -> String {
    format!("operation `{operation}` is no longer offered")
}

impl Executor for PluginExecutor {
    fn stages(&self, operation: &str) -> Vec<String> {
        self.operations
            .get(operation)
            .map(|op| op.plugin.description().stages.clone())
            .unwrap_or_default()
    }

    fn execute(
        &self,
        operation: &str,
        request: RunRequest,
        control: Arc<dyn RunControl>,
    ) -> Result<Output, RunFailure> {
        match self.resolve(operation).map_err(RunFailure::Runner)? {
            Resolved::Plugin(plugin) => plugin.run_shared(request, control),
            Resolved::ByName => Err(RunFailure::Runner(no_longer_offered(operation))),
        }
    }

    fn resolve(&self, operation: &str) -> Result<Resolved, String> {
        self.operations
            .get(operation)
            .map(|op| Resolved::Plugin(op.plugin.clone()))
            .ok_or_else(|| no_longer_offered(operation))
    }
}
