//! A loaded [`Plugin`] and how one run of it goes: fresh store, instantiate,
//! call, collect output, classify failures.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::bindings::{self, types};
use super::control::{LogLevel, OutputStream, Relay, RunControl};
use super::description::Description;
use super::failure::{FailureContext, RunFailure, classify};
use super::host::Runtime;
use super::host_imports::cap_message;
use super::sandbox::{HostState, MAX_LOG_BYTES_PER_RUN, MAX_LOG_MESSAGE_BYTES, Watch, new_store};

/// The longest error code from a plugin that is passed on.
const MAX_ERROR_CODE_BYTES: usize = 128;

/// What to run: the request's params and inputs, and how long it may take.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// The JSON text of the request's `params` object (already validated
    /// against the operation's params schema).
    pub params_json: String,
    /// The inputs, resolved to bytes.
    pub inputs: Vec<Input>,
    /// The wall-clock limit of the run, from the start of [`Plugin::run`].
    pub timeout: Duration,
}

/// One input of a run.
#[derive(Debug, Clone)]
pub struct Input {
    /// The input's name, as declared in [`Description::inputs`].
    pub name: String,
    /// The media type of the data.
    pub media_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// What a successful run produced.
#[derive(Debug)]
pub struct Output {
    /// The media type of `data`.
    pub media_type: String,
    /// The result bytes.
    pub data: Vec<u8>,
}

/// A loaded, described and pre-instantiated plugin: one operation. Cheap to
/// clone (an `Arc`).
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    runtime: Arc<Runtime>,
    pre: bindings::PluginPre<HostState>,
    description: Description,
    sha256: String,
    origin: String,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.inner.description.name)
            .field("version", &self.inner.description.version)
            .field("origin", &self.inner.origin)
            .field("sha256", &self.inner.sha256)
            .finish()
    }
}

impl Plugin {
    pub(crate) fn new(
        runtime: Arc<Runtime>,
        pre: bindings::PluginPre<HostState>,
        description: Description,
        sha256: String,
        origin: String,
    ) -> Plugin {
        Plugin {
            inner: Arc::new(PluginInner {
                runtime,
                pre,
                description,
                sha256,
                origin,
            }),
        }
    }

    /// What the plugin says about its operation.
    pub fn description(&self) -> &Description {
        &self.inner.description
    }

    /// The operation name (the same as `description().name`).
    pub fn name(&self) -> &str {
        &self.inner.description.name
    }

    /// The SHA-256 of the plugin's wasm, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Where the plugin came from, e.g. `bundled:probe` or a file path.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// Runs the plugin once, in a fresh sandbox, reporting to `control`.
    ///
    /// Blocking: call on a worker thread, never on an async executor thread.
    /// The guest runs on the calling thread; `control` is called from a
    /// helper thread this starts for the run (the store can only hold
    /// `'static` data), so the cancel flag is seen within a few milliseconds.
    /// [`Plugin::run_shared`] avoids the helper thread.
    pub fn run(&self, request: RunRequest, control: &dyn RunControl) -> Result<Output, RunFailure> {
        let (relay, receiver) = Relay::new(control.is_cancelled());
        std::thread::scope(|scope| {
            let forwarder = std::thread::Builder::new()
                .name("longrun-relay".into())
                .spawn_scoped(scope, move || Relay::forward(receiver, control))
                .map_err(|e| RunFailure::Runner(format!("starting the relay thread: {e}")))?;
            let result = self.run_shared(request, relay);
            // `run_shared` dropped the last relay handle, so the forwarder
            // drains what is left and ends.
            match forwarder.join() {
                Ok(()) => result,
                Err(_) => Err(RunFailure::Runner(
                    "the job's run control panicked while relaying plugin events".into(),
                )),
            }
        })
    }

    /// Like [`Plugin::run`], but with a shared `control` that the sandbox
    /// holds for the run and calls directly from the calling thread: no
    /// helper thread, so this is the cheaper way to run a plugin.
    pub fn run_shared(
        &self,
        request: RunRequest,
        control: Arc<dyn RunControl>,
    ) -> Result<Output, RunFailure> {
        let RunRequest {
            params_json,
            inputs,
            timeout,
        } = request;
        let inputs: Vec<types::Input> = inputs
            .into_iter()
            .map(|input| types::Input {
                name: input.name,
                media_type: input.media_type,
                data: input.data,
            })
            .collect();
        let result = self.call(control.clone(), timeout, move |store, instance| {
            instance.call_run(store, &params_json, &inputs)
        })?;
        match result {
            Ok(output) => Ok(Output {
                media_type: output.media_type,
                data: output.data,
            }),
            // A plugin that honours a cancel returns an error of its own
            // (probe's is `canceled`): the job was canceled all the same.
            Err(_) if control.is_cancelled() => Err(RunFailure::Canceled),
            Err(error) => Err(RunFailure::Plugin {
                code: cap_message(error.code, MAX_ERROR_CODE_BYTES),
                message: cap_message(error.message, MAX_LOG_MESSAGE_BYTES),
            }),
        }
    }

    fn call<R>(
        &self,
        control: Arc<dyn RunControl>,
        timeout: Duration,
        f: impl FnOnce(&mut Store<HostState>, &bindings::Plugin) -> wasmtime::Result<R>,
    ) -> Result<R, RunFailure> {
        call_in_sandbox(&self.inner.runtime, &self.inner.pre, control, timeout, f)
    }
}

/// Runs `f` against a fresh instance of `pre` in a fresh store, then passes
/// the captured output to `control` and turns errors into [`RunFailure`]s.
pub(crate) fn call_in_sandbox<R>(
    runtime: &Runtime,
    pre: &bindings::PluginPre<HostState>,
    control: Arc<dyn RunControl>,
    timeout: Duration,
    f: impl FnOnce(&mut Store<HostState>, &bindings::Plugin) -> wasmtime::Result<R>,
) -> Result<R, RunFailure> {
    let watch = Arc::new(Watch::new(control.clone(), timeout));
    if control.is_cancelled() {
        return Err(RunFailure::Canceled);
    }
    let mut store = new_store(&runtime.engine, runtime.limits, watch);
    let instantiated = pre.instantiate(&mut store);
    let instantiate_failed = instantiated.is_err();
    let result = instantiated.and_then(|instance| f(&mut store, &instance));

    let state = store.data();
    let (stdout, stdout_truncated) = state.stdout.text();
    let (stderr, stderr_truncated) = state.stderr.text();
    if state.log_budget.dropped > 0 {
        control.log(
            LogLevel::Warn,
            &format!(
                "{} log messages were dropped: a run may log at most {} bytes",
                state.log_budget.dropped, MAX_LOG_BYTES_PER_RUN
            ),
        );
    }
    if !stdout.is_empty() {
        control.output(OutputStream::Stdout, &stdout, stdout_truncated);
    }
    if !stderr.is_empty() {
        control.output(OutputStream::Stderr, &stderr, stderr_truncated);
    }

    result.map_err(|error| {
        let cx = FailureContext {
            interrupted: state.interrupted,
            memory_limit_hit: state.memory_limit_hit(),
            memory_limit_bytes: runtime.limits.memory_limit_bytes,
            timeout,
            stderr: &stderr,
        };
        let failure = classify(&error, &cx);
        match failure {
            RunFailure::Trap(_)
                if instantiate_failed && error.downcast_ref::<wasmtime::Trap>().is_none() =>
            {
                RunFailure::Runner(format!("could not instantiate the plugin: {error:#}"))
            }
            failure => failure,
        }
    })
}
