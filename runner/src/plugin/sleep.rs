//! WASI sleeps that end early for a cancel or the run's deadline.
//!
//! Epoch interruption stops a guest that is executing wasm, but a guest
//! blocked in a host call (a `std::thread::sleep` is
//! `monotonic-clock.subscribe-duration` and then `poll`) is not executing wasm.
//! So the runner replaces wasmtime-wasi's `subscribe-duration` and
//! `subscribe-instant` with pollables that also become ready once the job is
//! canceled or past its deadline; the guest then wakes up early, and the next
//! epoch check stops it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::HostMonotonicClock;
use wasmtime_wasi::p2::{DynPollable, Pollable};

use super::engine::EPOCH_TICK;
use super::sandbox::{HostState, Watch};

/// The version of `wasi:clocks` that wasmtime-wasi 48 defines; guests that
/// import any 0.2.x version are linked to it.
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// The guest's monotonic clock: nanoseconds since the run's store was made.
#[derive(Clone, Copy)]
pub(crate) struct GuestClock {
    base: Instant,
}

impl GuestClock {
    /// A clock that starts now.
    pub(crate) fn start() -> GuestClock {
        GuestClock {
            base: Instant::now(),
        }
    }

    fn now_nanos(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl HostMonotonicClock for GuestClock {
    fn resolution(&self) -> u64 {
        1
    }

    fn now(&self) -> u64 {
        self.now_nanos()
    }
}

/// Replaces `subscribe-duration` and `subscribe-instant` in `linker` (which
/// must already have WASI in it) with interruptible versions.
pub(crate) fn shadow_clock_subscriptions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |mut store, (nanos,): (u64,)| {
        let state: &mut HostState = store.data_mut();
        Ok((subscribe(state, Duration::from_nanos(nanos))?,))
    })?;
    clock.func_wrap("subscribe-instant", |mut store, (when,): (u64,)| {
        let state: &mut HostState = store.data_mut();
        let now = state.clock.now_nanos();
        Ok((subscribe(
            state,
            Duration::from_nanos(when.saturating_sub(now)),
        )?,))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

fn subscribe(state: &mut HostState, duration: Duration) -> wasmtime::Result<Resource<DynPollable>> {
    let sleep = if duration.is_zero() {
        Sleep::Past { yielded: false }
    } else {
        match tokio::time::Instant::now().checked_add(duration) {
            Some(until) => Sleep::Until(until, state.watch.clone()),
            None => Sleep::Forever(state.watch.clone()),
        }
    };
    let resource = state.table.push(sleep)?;
    wasmtime_wasi::p2::subscribe(&mut state.table, resource)
}

/// A timer pollable that is also ready once its run should stop.
enum Sleep {
    /// A zero-length sleep: ready, after yielding to tokio once (as
    /// wasmtime-wasi's own does, so a guest busy-polling with a zero timeout
    /// lets I/O make progress).
    Past { yielded: bool },
    /// Ready at the instant, or when the run should stop.
    Until(tokio::time::Instant, Arc<Watch>),
    /// Ready only when the run should stop.
    Forever(Arc<Watch>),
}

#[wasmtime_wasi::async_trait]
impl Pollable for Sleep {
    async fn ready(&mut self) {
        match self {
            Sleep::Past { yielded: true } => {}
            Sleep::Past { yielded } => {
                *yielded = true;
                tokio::task::yield_now().await;
            }
            Sleep::Until(until, watch) => {
                let until = *until;
                loop {
                    let now = tokio::time::Instant::now();
                    if now >= until || watch.should_stop() {
                        return;
                    }
                    tokio::time::sleep_until(until.min(now + EPOCH_TICK)).await;
                }
            }
            Sleep::Forever(watch) => {
                while !watch.should_stop() {
                    tokio::time::sleep(EPOCH_TICK).await;
                }
            }
        }
    }
}
