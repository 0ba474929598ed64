//! Progress reaches the store coalesced: plugins report into memory as often as
//! they like, and every `progress_flush_interval` the latest progress of each job
//! that changed is written once.

use std::sync::atomic::Ordering;

use super::Jobs;

impl Jobs {
    /// Write the progress of every live job that changed since the last flush.
    pub async fn flush_progress(&self) {
        let dirty: Vec<_> = self
            .inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|job| job.progress_dirty.swap(false, Ordering::AcqRel))
            .cloned()
            .collect();
        for job in dirty {
            let record = job.snapshot();
            if let Err(e) = self
                .inner
                .store
                .update_progress(
                    &record.id,
                    &record.progress,
                    record.revision,
                    record.updated_at,
                )
                .await
            {
                job.progress_dirty.store(true, Ordering::Release);
                tracing::warn!(job = %record.id, "could not record progress: {e}");
            }
        }
    }
}

/// Flush every `progress_flush_interval`, forever.
pub(super) async fn flush_periodically(jobs: Jobs) {
    let mut ticks = tokio::time::interval(jobs.inner.config.progress_flush_interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        jobs.flush_progress().await;
    }
}
