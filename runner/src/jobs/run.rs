//! Running jobs: the dispatcher takes queued jobs to free workers, and each run's
//! outcome is committed before anyone is told.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, oneshot};

use super::live::{JobControl, JobLog, LiveJob, Phase};
use super::{JobRecord, Jobs, Progress, Resolved, ResultMeta, Status};
use crate::plugin::{Input, InputData, ResultData, ResultTarget, RunFailure, RunRequest};
use crate::problem::{Problem, ProblemKind};

/// How a run ended, as the worker reports it.
type Outcome = Result<ResultMeta, RunFailure>;

/// Take queued jobs to free workers, forever.
pub(super) async fn dispatch(jobs: Jobs) {
    loop {
        let permit = jobs
            .inner
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the worker semaphore is never closed");
        let id = jobs.inner.queue.pop().await;
        let Some(live) = jobs.inner.live.lock().unwrap().get(&id).cloned() else {
            continue;
        };
        {
            let mut phase = live.phase();
            if *phase != Phase::Queued {
                continue;
            }
            *phase = Phase::Running;
        }
        jobs.start_run(live, permit).await;
    }
}

impl Jobs {
    /// Fix the plugin the attempt runs, mark the job running with that
    /// plugin's version and SHA-256, commit that, and hand it to a worker.
    async fn start_run(&self, live: Arc<LiveJob>, permit: OwnedSemaphorePermit) {
        let operation = live.record.borrow().operation.clone();
        // Taken once: the attempt runs this plugin to its end, whatever the
        // plugins directory offers meanwhile. An operation that is gone
        // fails the attempt (on the worker, so it is logged like any run).
        let resolved = self.inner.executor.resolve(&operation);
        if let Ok(Resolved::Plugin(plugin)) = &resolved {
            live.set_stages(plugin.description().stages.clone());
        }
        let now = self.inner.clock.now();
        let stage_count = live.stages().len() as u32;
        live.record.send_modify(|record| {
            record.status = Status::Running;
            record.started_at = Some(now);
            record.updated_at = now;
            record.progress = Progress {
                stage_count,
                ..Progress::default()
            };
            if let Ok(Resolved::Plugin(plugin)) = &resolved {
                record
                    .operation_version
                    .clone_from(&plugin.description().version);
                record.plugin_sha256 = plugin.sha256().to_owned();
            }
            record.revision += 1;
        });
        let record = live.snapshot();
        if let Err(e) = self.inner.store.update(&record).await {
            tracing::error!(job = %record.id, "could not record the start of a run: {e}");
        }

        let (done, outcome) = oneshot::channel();
        let jobs = self.clone();
        let worker_live = live.clone();
        self.inner.workers.execute(move || {
            let outcome = jobs.execute(&worker_live, &record, resolved);
            let _ = done.send(outcome);
        });
        let jobs = self.clone();
        tokio::spawn(async move {
            let outcome = outcome.await.unwrap_or_else(|_| {
                Err(RunFailure::Runner("the worker stopped unexpectedly".into()))
            });
            drop(permit);
            jobs.finish_run(&live, outcome).await;
        });
    }

    /// Run one attempt on this worker thread: read the inputs, run the plugin
    /// `resolved` when the attempt started, keep its result.
    fn execute(
        &self,
        live: &Arc<LiveJob>,
        record: &JobRecord,
        resolved: Result<Resolved, String>,
    ) -> Outcome {
        let files = &self.inner.files;
        let log = JobLog::new(
            files.clone(),
            record.id.clone(),
            self.inner.config.max_log_bytes,
            self.inner.clock.clone(),
        );
        let plugin = match &resolved {
            Ok(Resolved::Plugin(plugin)) => format!(
                " (version {}, plugin sha256 {})",
                plugin.description().version,
                plugin.sha256()
            ),
            _ => String::new(),
        };
        log.line(
            "INFO",
            &format!(
                "attempt {} of {} started{plugin}",
                record.attempt, record.operation
            ),
        );
        if live.cancel.load(Ordering::Acquire) {
            return Err(RunFailure::Canceled);
        }
        let resolved = match resolved {
            Ok(resolved) => resolved,
            Err(detail) => {
                log.line("ERROR", &format!("failed: {detail}"));
                return Err(RunFailure::Runner(detail));
            }
        };
        // The plugin reads the inputs from the job's files: whole for the
        // world `plugin`, in pieces for `chunked-plugin`.
        let inputs = record
            .inputs
            .iter()
            .enumerate()
            .map(|(index, meta)| Input {
                name: meta.name.clone(),
                media_type: meta.media_type.clone(),
                data: InputData::File(files.input_path(&record.id, index)),
            })
            .collect();
        // The result is written to a spool file as the plugin produces it,
        // and becomes the job's result only once the run has succeeded.
        let spool = match files.result_spool(&record.id) {
            Ok(spool) => spool,
            Err(e) => {
                let detail = format!("could not prepare the result file: {e}");
                log.line("ERROR", &format!("failed: {detail}"));
                return Err(RunFailure::Runner(detail));
            }
        };
        let request = RunRequest {
            params_json: record.params.to_string(),
            inputs,
            timeout: Duration::from_secs(record.timeout_seconds),
            result: ResultTarget::File(spool),
        };
        let control = Arc::new(JobControl {
            live: live.clone(),
            log,
            clock: self.inner.clock.clone(),
        });
        let ran = match resolved {
            Resolved::Plugin(plugin) => plugin.run_shared(request, control.clone()),
            Resolved::ByName => {
                self.inner
                    .executor
                    .execute(&record.operation, request, control.clone())
            }
        };
        let outcome = ran.and_then(|output| {
            let keep_failed =
                |e: std::io::Error| RunFailure::Runner(format!("could not keep the result: {e}"));
            let (size, sha256) = match output.data {
                // An executor may hand the bytes back rather than spool them.
                ResultData::Bytes(bytes) => files
                    .write_result(&record.id, &bytes)
                    .map_err(keep_failed)?,
                ResultData::File { size, sha256, .. } => {
                    files.keep_spooled_result(&record.id).map_err(keep_failed)?;
                    (size, sha256)
                }
            };
            if let (Some(root), Some(file)) = (&self.inner.config.output_root, &record.output_file)
            {
                write_output_file(root, file, &files.result_path(&record.id))?;
            }
            Ok(ResultMeta {
                media_type: output.media_type,
                size,
                sha256,
            })
        });
        if outcome.is_err()
            && let Err(e) = files.discard_spooled_result(&record.id)
        {
            tracing::warn!(job = %record.id, "could not remove a partial result: {e}");
        }
        let log = &control.log;
        match &outcome {
            Ok(meta) => log.line("INFO", &format!("succeeded with {} bytes", meta.size)),
            Err(RunFailure::Canceled) => log.line("INFO", "canceled"),
            Err(failure) => log.line("ERROR", &format!("failed: {failure}")),
        }
        outcome
    }

    /// Commit the outcome of a run, then publish it and forget the live job.
    async fn finish_run(&self, live: &LiveJob, outcome: Outcome) {
        let canceled = {
            let mut phase = live.phase();
            *phase = Phase::Finishing;
            live.cancel.load(Ordering::Acquire)
        };
        let mut record = live.snapshot();
        let now = self.inner.clock.now();
        if canceled {
            // Whatever the plugin produced after cancel took hold is discarded.
            record.end(Status::Canceled, now);
            let _ = self.inner.files.remove_result(&record.id);
        } else {
            match outcome {
                Ok(meta) => {
                    record.end(Status::Succeeded, now);
                    record.progress.percent = 100.0;
                    record.result = Some(meta);
                }
                Err(RunFailure::Canceled) => record.end(Status::Canceled, now),
                Err(failure) => {
                    record.end(Status::Failed, now);
                    record.error = Some(failure_problem(&failure, &record));
                }
            }
        }
        self.commit_terminal(live, record).await;
    }

    /// Cancel a job that never left the queue.
    pub(super) async fn finish_canceled_in_queue(&self, live: &LiveJob) -> JobRecord {
        let mut record = live.snapshot();
        record.end(Status::Canceled, self.inner.clock.now());
        self.commit_terminal(live, record).await
    }

    /// Store a terminal record (retrying while the store fails), drop the job
    /// from memory, and publish the record to waiters.
    async fn commit_terminal(&self, live: &LiveJob, record: JobRecord) -> JobRecord {
        let mut delay = Duration::from_millis(50);
        while let Err(e) = self.inner.store.update(&record).await {
            tracing::error!(job = %record.id, "could not record the end of a job, retrying: {e}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
        // Readers find the job in the store from now on; then waiters hear of it.
        self.forget(&record.id);
        live.record.send_replace(record.clone());
        if record.callback.is_some() {
            self.inner.callbacks_ready.notify_one();
        }
        record
    }
}

/// The problem document that explains a failed run.
fn failure_problem(failure: &RunFailure, record: &JobRecord) -> Problem {
    let problem = match failure {
        RunFailure::Plugin { code, message } => {
            Problem::new(ProblemKind::PluginError, message.clone()).with("code", code.clone())
        }
        RunFailure::Trap(message) => Problem::new(ProblemKind::PluginTrap, message.clone()),
        RunFailure::MemoryLimit { limit_bytes } => Problem::new(
            ProblemKind::MemoryLimitExceeded,
            format!("the plugin tried to use more than its memory limit of {limit_bytes} bytes"),
        ),
        RunFailure::Deadline(_) => Problem::new(
            ProblemKind::DeadlineExceeded,
            format!(
                "the job ran longer than its timeoutSeconds ({}) and was stopped",
                record.timeout_seconds
            ),
        ),
        RunFailure::Canceled => Problem::new(ProblemKind::JobCanceled, "the job was canceled"),
        RunFailure::Runner(message) => Problem::new(ProblemKind::RunnerError, message.clone()),
    };
    problem.at(format!("/v1/jobs/{}", record.id))
}

/// Copy the kept result (`result`) under the output root as well.
fn write_output_file(root: &Path, file: &str, result: &Path) -> Result<(), RunFailure> {
    let fail = |e: std::io::Error| {
        RunFailure::Runner(format!("could not write the output file `{file}`: {e}"))
    };
    // Checked again: the directories may have changed since the job was accepted.
    let path = crate::confine::confine(root, file)
        .map_err(|why| RunFailure::Runner(format!("could not write the output file: {why}")))?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(fail)?;
    }
    crate::store::copy_synced(result, &path).map_err(fail)
}
