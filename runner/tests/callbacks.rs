//! Integration tests of completion callbacks (issue 3, as designed in the
//! callbacks design note) against a real `longrun serve` on a loopback port,
//! delivering to a scripted receiver on another loopback port
//! (`callbacks/receiver.rs`).
//!
//! The acceptance points of the issue are the tests named `acceptance_N_…`:
//! 1. retries, one `webhook-id`, spacing, signatures (checked by the
//!    independent `standardwebhooks` crate), 410, GET, `Retry-After`;
//! 2. pending deliveries survive a SIGKILL of the runner;
//! 3. a receiver that never answers does not slow the jobs;
//! 4. the URL guard refuses every non-public address form at submission.
//!
//! Synchronisation polls against deadlines; the only waits of a fixed length
//! are the windows in which something must *not* happen (`holds_for`).

#[path = "support/mod.rs"]
mod support;

mod callbacks {
    pub mod common;
    pub mod receiver;

    mod delivery;
    mod guard;
    mod request;
    mod restart;
    mod signatures;
    mod throughput;
}
