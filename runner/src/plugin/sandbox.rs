//! The per-run sandbox: what a `Store` holds (WASI with no capabilities,
//! bounded output, the memory limiter, the cancel/deadline watch) and how the
//! `Linker` every plugin is linked with is built.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings;
use super::chunked_io::ChunkedIo;
use super::control::RunControl;
use super::output_capture::CapturePipe;
use super::result_target::ResultSink;
use super::sleep::{GuestClock, shadow_clock_subscriptions};

/// The longest log message passed on; longer ones are cut (at a character
/// boundary) and marked.
pub const MAX_LOG_MESSAGE_BYTES: usize = 8 << 10;
/// The most log text one run may pass on; later messages are dropped and
/// counted, and one warning at the end of the run says how many.
pub const MAX_LOG_BYTES_PER_RUN: usize = 1 << 20;
/// The deadline for `describe` when a plugin is loaded.
pub const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The limits every sandbox of a host gets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SandboxLimits {
    pub(crate) memory_limit_bytes: u64,
    pub(crate) max_output_bytes: usize,
    pub(crate) max_result_bytes: u64,
}

/// Why a run was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interruption {
    /// The job was canceled.
    Canceled,
    /// The run passed its deadline.
    Deadline,
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interruption::Canceled => "the job was canceled",
            Interruption::Deadline => "the run passed its deadline",
        })
    }
}

impl std::error::Error for Interruption {}

/// What decides whether a run must stop: the job's control (for a cancel)
/// and the wall-clock deadline. Shared with interruptible sleeps.
pub(crate) struct Watch {
    pub(crate) control: Arc<dyn RunControl>,
    deadline: Option<Instant>,
}

impl Watch {
    /// A watch for a run of at most `timeout` from now.
    pub(crate) fn new(control: Arc<dyn RunControl>, timeout: Duration) -> Watch {
        Watch {
            control,
            deadline: Instant::now().checked_add(timeout),
        }
    }

    /// Whether the run must stop, and why (a cancel wins over the deadline).
    pub(crate) fn check(&self) -> Option<Interruption> {
        if self.control.is_cancelled() {
            Some(Interruption::Canceled)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Interruption::Deadline)
        } else {
            None
        }
    }

    /// Whether the run must stop.
    pub(crate) fn should_stop(&self) -> bool {
        self.check().is_some()
    }
}

/// How much a run has logged.
#[derive(Debug, Default)]
pub(crate) struct LogBudget {
    /// Bytes passed on so far.
    pub(crate) used: usize,
    /// Messages dropped because the budget was spent.
    pub(crate) dropped: u64,
}

/// The data of a run's `Store`.
pub(crate) struct HostState {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    limits: JobLimits,
    pub(crate) watch: Arc<Watch>,
    pub(crate) clock: GuestClock,
    /// Set by the epoch callback when it stops the run.
    pub(crate) interrupted: Option<Interruption>,
    pub(crate) log_budget: LogBudget,
    pub(crate) stdout: CapturePipe,
    pub(crate) stderr: CapturePipe,
    /// The inputs and result of a `chunked-plugin` run (empty otherwise).
    pub(crate) chunked: ChunkedIo,
}

impl HostState {
    /// Whether the run tried to grow memory past its limit.
    pub(crate) fn memory_limit_hit(&self) -> bool {
        self.limits.exceeded
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Wasmtime's [`StoreLimits`] (memory cap, trap on a failed grow), noting
/// whether the memory cap was what stopped a grow.
struct JobLimits {
    inner: StoreLimits,
    memory_limit_bytes: u64,
    exceeded: bool,
}

impl JobLimits {
    fn note(&mut self, desired: usize, allowed: &wasmtime::Result<bool>) {
        if !matches!(allowed, Ok(true))
            && u64::try_from(desired).unwrap_or(u64::MAX) > self.memory_limit_bytes
        {
            self.exceeded = true;
        }
    }
}

impl ResourceLimiter for JobLimits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum);
        self.note(desired, &allowed);
        allowed
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// A fresh store for one run: no capabilities, bounded output, the memory
/// cap, and an epoch callback that stops the run on a cancel or the deadline.
pub(crate) fn new_store(
    engine: &Engine,
    limits: SandboxLimits,
    watch: Arc<Watch>,
) -> Store<HostState> {
    let stdout = CapturePipe::new(limits.max_output_bytes);
    let stderr = CapturePipe::new(limits.max_output_bytes);
    let clock = GuestClock::start();
    // The builder's defaults are already: no preopens, no env, no args,
    // closed stdin, and socket addresses all denied; the network switches are
    // turned off explicitly as well.
    let wasi = WasiCtxBuilder::new()
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .monotonic_clock(clock)
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    let memory_size = usize::try_from(limits.memory_limit_bytes).unwrap_or(usize::MAX);
    let state = HostState {
        wasi,
        table: ResourceTable::new(),
        limits: JobLimits {
            inner: StoreLimitsBuilder::new()
                .memory_size(memory_size)
                .trap_on_grow_failure(true)
                .build(),
            memory_limit_bytes: limits.memory_limit_bytes,
            exceeded: false,
        },
        watch,
        clock,
        interrupted: None,
        log_budget: LogBudget::default(),
        stdout,
        stderr,
        chunked: ChunkedIo {
            inputs: Vec::new(),
            result: ResultSink::closed(),
        },
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        let state = cx.data_mut();
        match state.watch.check() {
            None => Ok(UpdateDeadline::Continue(1)),
            Some(why) => {
                state.interrupted = Some(why);
                Err(wasmtime::Error::new(why))
            }
        }
    });
    store
}

/// The linker every plugin of an engine is linked with: WASI p2 (sync), with
/// interruptible sleeps, and the `longrun:plugin/host` and
/// `longrun:plugin/chunked-io` interfaces.
pub(crate) fn new_linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    shadow_clock_subscriptions(&mut linker)?;
    bindings::Plugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state)?;
    bindings::chunked::chunked_io::add_to_linker::<HostState, HasSelf<HostState>>(
        &mut linker,
        |state| state,
    )?;
    Ok(linker)
}
