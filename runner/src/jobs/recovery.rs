//! Picking up after a crash.
//!
//! At start, every job the store still has as queued is queued again, in its
//! original order. A job that was running when the process died is queued again
//! with its `attempt` raised, unless it has used up its attempts, in which case it
//! fails with `attempts-exhausted`. Directories of jobs the store does not know
//! (a crash between writing inputs and committing) are removed.

use std::collections::HashSet;
use std::sync::Arc;

use super::live::{LiveJob, Phase};
use super::{Jobs, Progress, Status};
use crate::problem::{Problem, ProblemKind};

impl Jobs {
    pub(super) async fn recover(&self) -> anyhow::Result<()> {
        let now = self.inner.clock.now();
        let max_attempts = self.inner.config.max_attempts;
        let mut requeued = 0usize;
        let mut failed = 0usize;
        for mut record in self.inner.store.unfinished().await? {
            let stages = self.inner.executor.stages(&record.operation);
            if record.status == Status::Running {
                record.started_at = None;
                record.progress = Progress {
                    stage_count: stages.len() as u32,
                    ..Progress::default()
                };
                if record.attempt >= max_attempts {
                    record.end(Status::Failed, now);
                    record.error = Some(
                        Problem::new(
                            ProblemKind::AttemptsExhausted,
                            format!(
                                "the runner stopped during each of this job's {} attempts",
                                record.attempt
                            ),
                        )
                        .at(format!("/v1/jobs/{}", record.id)),
                    );
                    self.inner.store.update(&record).await?;
                    failed += 1;
                    continue;
                }
                record.status = Status::Queued;
                record.attempt += 1;
                record.updated_at = now;
                record.revision += 1;
                self.inner.store.update(&record).await?;
            }
            let id = record.id.clone();
            let live = Arc::new(LiveJob::new(record, Phase::Queued, stages));
            self.inner.live.lock().unwrap().insert(id.clone(), live);
            self.inner.queue.push(id);
            requeued += 1;
        }

        let known: HashSet<String> = self.inner.store.all_ids().await?.into_iter().collect();
        let files = self.inner.files.clone();
        let orphans = tokio::task::spawn_blocking(move || -> std::io::Result<usize> {
            let mut removed = 0;
            for id in files.ids_on_disk()? {
                if !known.contains(&id) {
                    files.remove(&id)?;
                    removed += 1;
                }
            }
            Ok(removed)
        })
        .await??;
        if requeued + failed + orphans > 0 {
            tracing::info!(requeued, failed, orphans, "recovered unfinished jobs");
        }
        Ok(())
    }
}
