//! Expiry: a terminal job lives `ttlSeconds` after its last use, then it and its
//! files are removed.
//!
//! Reads check the deadline themselves (an expired job is `404` at once, see
//! `Jobs::stored`); the sweeper removes expired jobs nobody asks about.

use super::Jobs;
use crate::problem::Problem;

/// How many expired jobs one sweep removes at most.
const SWEEP_BATCH: usize = 500;

impl Jobs {
    /// Remove every job whose expiry has passed by the clock's time. Returns how
    /// many were removed.
    pub async fn sweep_expired(&self) -> Result<usize, Problem> {
        let mut removed = 0;
        loop {
            let now = self.inner.clock.now();
            let ids = self.inner.store.expired(now, SWEEP_BATCH).await?;
            let batch = ids.len();
            for id in ids {
                self.remove(&id).await?;
            }
            removed += batch;
            if batch < SWEEP_BATCH {
                return Ok(removed);
            }
        }
    }
}

/// Sweep every `sweep_interval`, forever.
pub(super) async fn sweep_periodically(jobs: Jobs) {
    let mut ticks = tokio::time::interval(jobs.inner.config.sweep_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(problem) = jobs.sweep_expired().await {
            tracing::warn!("expiry sweep failed: {problem}");
        }
    }
}
