//! A loaded [`Plugin`] and how one run of it goes: fresh store, instantiate,
//! call, collect output, classify failures.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::Store;

use super::bindings::chunked::chunked_io::InputInfo;
use super::bindings::types;
use super::chunked_io::{InputData, OpenInput};
use super::control::{LogLevel, OutputStream, Relay, RunControl};
use super::description::Description;
use super::failure::{FailureContext, RunFailure, classify};
use super::host::Runtime;
use super::host_imports::cap_message;
use super::result_target::{ResultData, ResultSink, ResultTarget};
use super::sandbox::{HostState, MAX_LOG_BYTES_PER_RUN, MAX_LOG_MESSAGE_BYTES, Watch, new_store};
use super::world::{Guest, GuestPre};

/// The error for an instance whose world is not its plugin's; cannot happen,
/// since both come from the same [`GuestPre`].
const WORLD_MISMATCH: &str = "runner bug: the instance does not fit the plugin's world";

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
    /// Where the result goes.
    pub result: ResultTarget,
}

/// One input of a run.
#[derive(Debug, Clone)]
pub struct Input {
    /// The input's name, as declared in [`Description::inputs`].
    pub name: String,
    /// The media type of the data.
    pub media_type: String,
    /// The bytes, in memory or in a file.
    pub data: InputData,
}

/// What a successful run produced.
#[derive(Debug)]
pub struct Output {
    /// The media type of `data`: the one the plugin returned, or the
    /// description's `result_media_type` when it returned none.
    pub media_type: String,
    /// The result, where [`RunRequest::result`] asked for it.
    pub data: ResultData,
}

/// A loaded, described and pre-instantiated plugin: one operation. Cheap to
/// clone (an `Arc`).
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

struct PluginInner {
    runtime: Arc<Runtime>,
    pre: GuestPre,
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
        pre: GuestPre,
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

    /// The WIT world the plugin targets: `plugin` (inputs and result passed
    /// whole) or `chunked-plugin` (read and written in pieces).
    pub fn world(&self) -> &'static str {
        self.inner.pre.world()
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
            result,
        } = request;
        let sink = ResultSink::open(&result, self.inner.runtime.limits.max_result_bytes)
            .map_err(|e| RunFailure::Runner(format!("could not open the result file: {e}")))?;
        let cancel_control = control.clone();
        let returned = match self.inner.pre {
            GuestPre::Chunked(_) => {
                self.call_run_chunked(&params_json, inputs, timeout, sink, control)?
            }
            GuestPre::Whole(_) => {
                self.call_run_whole(&params_json, inputs, timeout, sink, control)?
            }
        };
        match returned {
            Ok((media_type, data)) => Ok(Output {
                media_type: if media_type.is_empty() {
                    self.inner.description.result_media_type.clone()
                } else {
                    media_type
                },
                data,
            }),
            // A plugin that honours a cancel returns an error of its own
            // (probe's is `canceled`): the job was canceled all the same.
            Err(_) if cancel_control.is_cancelled() => Err(RunFailure::Canceled),
            Err(error) => Err(RunFailure::Plugin {
                code: cap_message(error.code, MAX_ERROR_CODE_BYTES),
                message: cap_message(error.message, MAX_LOG_MESSAGE_BYTES),
            }),
        }
    }

    /// Calls `run` of a `plugin`: every input read whole and passed in, the
    /// result it returns put in `sink`.
    fn call_run_whole(
        &self,
        params_json: &str,
        inputs: Vec<Input>,
        timeout: Duration,
        mut sink: ResultSink,
        control: Arc<dyn RunControl>,
    ) -> Result<Returned, RunFailure> {
        let inputs = inputs
            .into_iter()
            .map(|input| {
                let data = input.data.into_bytes().map_err(|e| {
                    RunFailure::Runner(format!("could not read input `{}`: {e}", input.name))
                })?;
                Ok(types::Input {
                    name: input.name,
                    media_type: input.media_type,
                    data,
                })
            })
            .collect::<Result<Vec<_>, RunFailure>>()?;
        let returned = self.call(control, timeout, move |store, guest| match guest {
            Guest::Whole(guest) => guest.call_run(store, params_json, &inputs),
            Guest::Chunked(_) => Err(wasmtime::Error::msg(WORLD_MISMATCH)),
        })?;
        let output = match returned {
            Ok(output) => output,
            Err(error) => return Ok(Err(error)),
        };
        sink.write(&output.data).map_err(RunFailure::Runner)?;
        Ok(Ok((output.media_type, finish(sink)?)))
    }

    /// Calls `run-chunked` of a `chunked-plugin`: the inputs opened for
    /// `read-input`, `write-result` going to `sink`.
    fn call_run_chunked(
        &self,
        params_json: &str,
        inputs: Vec<Input>,
        timeout: Duration,
        sink: ResultSink,
        control: Arc<dyn RunControl>,
    ) -> Result<Returned, RunFailure> {
        let mut infos = Vec::with_capacity(inputs.len());
        let mut opened = Vec::with_capacity(inputs.len());
        for input in inputs {
            let open = OpenInput::open(input.data).map_err(|e| {
                RunFailure::Runner(format!("could not open input `{}`: {e}", input.name))
            })?;
            infos.push(InputInfo {
                name: input.name,
                media_type: input.media_type,
                size: open.size(),
            });
            opened.push(open);
        }
        let returned = self.call(control, timeout, move |store, guest| {
            let Guest::Chunked(guest) = guest else {
                return Err(wasmtime::Error::msg(WORLD_MISMATCH));
            };
            let io = &mut store.data_mut().chunked;
            io.inputs = opened;
            io.result = sink;
            let returned = guest.call_run_chunked(&mut *store, params_json, &infos)?;
            let sink =
                std::mem::replace(&mut store.data_mut().chunked.result, ResultSink::closed());
            Ok(returned.map(|media_type| (media_type, sink)))
        })?;
        match returned {
            Ok((media_type, sink)) => Ok(Ok((media_type, finish(sink)?))),
            Err(error) => Ok(Err(error)),
        }
    }

    fn call<R>(
        &self,
        control: Arc<dyn RunControl>,
        timeout: Duration,
        f: impl FnOnce(&mut Store<HostState>, &Guest) -> wasmtime::Result<R>,
    ) -> Result<R, RunFailure> {
        call_in_sandbox(&self.inner.runtime, &self.inner.pre, control, timeout, f)
    }
}

/// What a run's guest call gave: the media type it named (maybe empty) and
/// the result, or the plugin's error.
type Returned = Result<(String, ResultData), types::Error>;

/// The result written to `sink`, or the runner's failure to keep it.
fn finish(sink: ResultSink) -> Result<ResultData, RunFailure> {
    sink.finish()
        .map_err(|e| RunFailure::Runner(format!("could not write the result: {e}")))
}

/// Runs `f` against a fresh instance of `pre` in a fresh store, then passes
/// the captured output to `control` and turns errors into [`RunFailure`]s.
pub(crate) fn call_in_sandbox<R>(
    runtime: &Runtime,
    pre: &GuestPre,
    control: Arc<dyn RunControl>,
    timeout: Duration,
    f: impl FnOnce(&mut Store<HostState>, &Guest) -> wasmtime::Result<R>,
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
