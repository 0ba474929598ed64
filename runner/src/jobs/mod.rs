//! The job engine: the state machine, the queue, the workers, expiry and recovery.
//!
//! The flow of a job through this module:
//!
//! 1. [`Jobs::submit`] (`submit.rs`) writes its inputs, commits its record to the
//!    store and only then queues it: acknowledged means durable.
//! 2. The dispatcher (`run.rs`) takes it from the [`queue`], fixes the plugin
//!    the attempt runs ([`Executor::resolve`]: the one offered now, whatever
//!    the plugins directory offers later), marks it running with that plugin's
//!    version and SHA-256 and hands it to the [`worker`] pool, where the plugin
//!    runs. Progress goes to its [`live`] record in memory and reaches the
//!    store coalesced (`progress.rs`).
//! 3. When the run ends the outcome is committed, then published to waiters.
//! 4. A terminal job lives `ttlSeconds` after its last use; `expiry.rs` removes it
//!    and its files.
//! 5. After a crash, `recovery.rs` queues unfinished jobs again.
//!
//! The states and their transitions are documented in [`Status`].

mod executor;
mod expiry;
mod live;
mod progress;
mod queue;
mod record;
mod recovery;
mod run;
mod status;
mod submit;
mod worker;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, watch};

pub use executor::{Executor, PluginExecutor, Resolved};
pub use live::LiveJob;
pub use record::{InputMeta, JobRecord, Progress, ResultMeta};
pub use status::Status;
pub use submit::{InputBytes, KeyReservation, NewInput, NewJob, Submitted};

use crate::clock::Clock;
use crate::problem::{Problem, ProblemKind};
use crate::store::{JobFiles, JobStore, ListQuery, StoreError};
use queue::Queue;
use worker::WorkerPool;

/// How the engine behaves.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    /// Plugin worker threads.
    pub workers: usize,
    /// The most jobs that may wait in the queue.
    pub queue_size: usize,
    /// How many times a job may be started before a crash fails it for good.
    pub max_attempts: u32,
    /// The most bytes a job's log keeps.
    pub max_log_bytes: u64,
    /// Where `output.file` paths are written, if anywhere.
    pub output_root: Option<PathBuf>,
    /// How often progress reaches the store.
    pub progress_flush_interval: Duration,
    /// How often expired jobs are looked for.
    pub sweep_interval: Duration,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_size: 1024,
            max_attempts: 3,
            max_log_bytes: 1024 * 1024,
            output_root: None,
            progress_flush_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(1),
        }
    }
}

/// The job engine. Cheap to clone; every clone is the same engine.
#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn JobStore>,
    files: JobFiles,
    clock: Arc<dyn Clock>,
    executor: Arc<dyn Executor>,
    config: JobsConfig,
    live: Mutex<HashMap<String, Arc<LiveJob>>>,
    queue: Queue,
    accepting: Mutex<HashSet<(String, String)>>,
    workers: WorkerPool,
    permits: Arc<Semaphore>,
    callbacks_ready: Arc<tokio::sync::Notify>,
}

/// A job's change feed, for long-polls and event streams.
pub enum Watch {
    /// The job is active: its record changes over this channel, ending with a
    /// terminal record.
    Live(watch::Receiver<JobRecord>),
    /// The job is terminal and will not change.
    Done(Box<JobRecord>),
}

impl Jobs {
    /// Start the engine: recover unfinished jobs from the store, then start the
    /// dispatcher, the progress flusher and the expiry sweeper. Must be called
    /// inside a tokio runtime.
    pub async fn start(
        store: Arc<dyn JobStore>,
        files: JobFiles,
        clock: Arc<dyn Clock>,
        executor: Arc<dyn Executor>,
        config: JobsConfig,
    ) -> anyhow::Result<Jobs> {
        let workers = WorkerPool::new(config.workers);
        let jobs = Jobs {
            inner: Arc::new(Inner {
                store,
                files,
                clock,
                executor,
                permits: Arc::new(Semaphore::new(workers.size())),
                workers,
                config,
                live: Mutex::default(),
                queue: Queue::default(),
                accepting: Mutex::default(),
                callbacks_ready: Arc::default(),
            }),
        };
        jobs.recover().await?;
        tokio::spawn(run::dispatch(jobs.clone()));
        tokio::spawn(progress::flush_periodically(jobs.clone()));
        tokio::spawn(expiry::sweep_periodically(jobs.clone()));
        Ok(jobs)
    }

    /// Notified whenever a callback delivery becomes due, for the deliverer.
    pub fn callbacks_ready(&self) -> Arc<tokio::sync::Notify> {
        self.inner.callbacks_ready.clone()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &JobsConfig {
        &self.inner.config
    }

    /// How many jobs wait in the queue.
    pub fn queued(&self) -> usize {
        self.inner.queue.len()
    }

    /// The current record of a job, counting as a use of a terminal job (its
    /// expiry moves forward).
    pub async fn get(&self, tenant: &str, id: &str) -> Result<JobRecord, Problem> {
        match self.live_job(tenant, id) {
            Some(live) => Ok(live.snapshot()),
            None => self.stored(tenant, id, true).await,
        }
    }

    /// Follow a job's changes. Opening a feed is not a use of the job.
    pub async fn watch(&self, tenant: &str, id: &str) -> Result<Watch, Problem> {
        match self.live_job(tenant, id) {
            Some(live) => Ok(Watch::Live(live.record.subscribe())),
            None => self
                .stored(tenant, id, false)
                .await
                .map(|record| Watch::Done(Box::new(record))),
        }
    }

    /// Wait up to `wait` for the job to change: until its ETag matches none of
    /// the `If-None-Match` tags when any are given (`*` matches every tag), else
    /// until it is terminal. Returns the record
    /// at the end of the wait; reading it counts as a use. A job deleted during
    /// the wait is `job-not-found`.
    pub async fn wait(
        &self,
        tenant: &str,
        id: &str,
        if_none_match: &[String],
        wait: Duration,
    ) -> Result<JobRecord, Problem> {
        // Whether the client's `If-None-Match` list matches a document's tag.
        let matches = |etag: &str| if_none_match.iter().any(|t| t == "*" || t == etag);
        let Some(live) = self.live_job(tenant, id) else {
            let record = self.stored(tenant, id, true).await?;
            if matches(&record.etag()) {
                // A terminal job never changes: the answer is "not modified",
                // after the wait the client asked for.
                tokio::time::sleep(wait).await;
                return self.stored(tenant, id, true).await;
            }
            return Ok(record);
        };
        let mut receiver = live.record.subscribe();
        let done = |record: &JobRecord| {
            if if_none_match.is_empty() {
                record.status.is_terminal()
            } else {
                !matches(&record.etag())
            }
        };
        let waited = tokio::time::timeout(wait, receiver.wait_for(done))
            .await
            .ok()
            .and_then(|result| result.ok().map(|record| record.clone()));
        let record = waited.unwrap_or_else(|| receiver.borrow().clone());
        if live.deleting.load(std::sync::atomic::Ordering::Acquire) {
            return Err(Problem::new(
                ProblemKind::JobNotFound,
                format!("job {id} was deleted"),
            ));
        }
        if record.status.is_terminal() {
            // Published only after the commit: count this read as a use.
            return self.stored(tenant, id, true).await;
        }
        Ok(record)
    }

    /// Count a read of a terminal job (of its result, say) as a use: its
    /// expiry moves to now + its TTL. Active jobs have no expiry to move.
    pub async fn touch(&self, record: &mut JobRecord) -> Result<(), Problem> {
        let Some(expires_at) = record.expires_at else {
            return Ok(());
        };
        let deadline = self.inner.clock.now() + Duration::from_secs(record.ttl_seconds);
        // The document a use returns already shows the new deadline
        // (EXPIRY-3), so every use that moves it writes it.
        if deadline > expires_at {
            self.inner
                .store
                .set_expiry(&record.id, deadline)
                .await
                .map_err(internal)?;
            record.expires_at = Some(deadline);
        }
        Ok(())
    }

    /// Jobs matching `query`, newest first; active ones as they are in memory.
    pub async fn list(&self, query: &ListQuery) -> Result<Vec<JobRecord>, Problem> {
        let mut query = query.clone();
        query.now = Some(self.inner.clock.now());
        let mut records = self.inner.store.list(&query).await.map_err(internal)?;
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        for record in &mut records {
            if let Some(job) = live.get(&record.id) {
                let current = job.snapshot();
                // The filter was applied to the stored status; keep the stored
                // record if the live one no longer matches it.
                if query.statuses.is_empty() || query.statuses.contains(&current.status) {
                    *record = current;
                }
            }
        }
        Ok(records)
    }

    /// The result of a succeeded job and the path of its bytes. Not a use by
    /// itself: the caller calls [`Jobs::touch`] once the bytes were served.
    pub async fn result(&self, tenant: &str, id: &str) -> Result<(JobRecord, PathBuf), Problem> {
        let record = match self.live_job(tenant, id) {
            Some(live) => live.snapshot(),
            None => self.stored(tenant, id, false).await?,
        };
        if record.status != Status::Succeeded || record.result.is_none() {
            let detail = match record.status {
                Status::Queued | Status::Running => {
                    format!("job {id} is {}; its result is not ready yet", record.status)
                }
                status => format!("job {id} {status}; it has no result"),
            };
            return Err(Problem::new(ProblemKind::ResultNotAvailable, detail)
                .with("jobStatus", record.status.as_str()));
        }
        let path = self.inner.files.result_path(id);
        Ok((record, path))
    }

    /// The job's log.
    pub async fn log(&self, tenant: &str, id: &str) -> Result<Vec<u8>, Problem> {
        if self.live_job(tenant, id).is_none() {
            self.stored(tenant, id, false).await?;
        }
        let files = self.inner.files.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || files.read_log(&id))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    /// Cancel a job. Answers once the job is `canceled`, which for a running job
    /// means its plugin has stopped; fails with `job-finished` if it succeeded or
    /// failed first.
    pub async fn cancel(&self, tenant: &str, id: &str) -> Result<JobRecord, Problem> {
        let record = match self.live_job(tenant, id) {
            Some(live) => self.cancel_live(&live).await?,
            None => self.stored(tenant, id, false).await?,
        };
        match record.status {
            Status::Canceled => Ok(record),
            status => Err(Problem::new(
                ProblemKind::JobFinished,
                format!("job {id} already {status}; it can no longer be canceled"),
            )
            .with("jobStatus", status.as_str())),
        }
    }

    /// Cancel a job if it is active, then remove it and its files. Returns its
    /// last record.
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<JobRecord, Problem> {
        let record = match self.live_job(tenant, id) {
            Some(live) => {
                live.deleting
                    .store(true, std::sync::atomic::Ordering::Release);
                self.cancel_live(&live).await?
            }
            None => self.stored(tenant, id, false).await?,
        };
        self.remove(id).await?;
        Ok(record)
    }

    /// Stop an active job and wait for its terminal record.
    async fn cancel_live(&self, live: &Arc<LiveJob>) -> Result<JobRecord, Problem> {
        let mut receiver = live.record.subscribe();
        let was_queued = {
            let mut phase = live.phase();
            match *phase {
                live::Phase::Queued => {
                    *phase = live::Phase::Finishing;
                    true
                }
                live::Phase::Running => {
                    live.cancel
                        .store(true, std::sync::atomic::Ordering::Release);
                    false
                }
                live::Phase::Finishing => false,
            }
        };
        if was_queued {
            self.inner.queue.remove(&live.snapshot().id);
            return Ok(self.finish_canceled_in_queue(live).await);
        }
        let terminal = receiver
            .wait_for(|record| record.status.is_terminal())
            .await
            .map(|record| record.clone());
        match terminal {
            Ok(record) => Ok(record),
            // The job finished and left memory before we looked: the store has it.
            Err(_) => {
                let record = receiver.borrow().clone();
                self.stored(&record.tenant, &record.id, false).await
            }
        }
    }

    /// The live job `id`, if still active and owned by `tenant`.
    fn live_job(&self, tenant: &str, id: &str) -> Option<Arc<LiveJob>> {
        let live = self.inner.live.lock().unwrap_or_else(|e| e.into_inner());
        live.get(id)
            .filter(|job| {
                let record = job.record.borrow();
                // A terminal record is already in the store, which also applies expiry.
                record.tenant == tenant && record.status.is_active()
            })
            .cloned()
    }

    /// A job from the store; 404 if unknown, another tenant's or expired. With
    /// `touch`, a terminal job's expiry moves to now + its TTL.
    async fn stored(&self, tenant: &str, id: &str, touch: bool) -> Result<JobRecord, Problem> {
        let not_found = || Problem::new(ProblemKind::JobNotFound, format!("no job {id}"));
        let mut record = self
            .inner
            .store
            .get(id)
            .await
            .map_err(internal)?
            .filter(|record| record.tenant == tenant)
            .ok_or_else(not_found)?;
        if record
            .expires_at
            .is_some_and(|at| at <= self.inner.clock.now())
            && record.may_expire()
        {
            self.remove(id).await?;
            return Err(not_found());
        }
        if touch {
            self.touch(&mut record).await?;
        }
        Ok(record)
    }

    /// Remove a job's record, then its files.
    async fn remove(&self, id: &str) -> Result<(), Problem> {
        self.inner.store.delete(id).await.map_err(internal)?;
        let files = self.inner.files.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || files.remove(&id))
            .await
            .map_err(internal)?
            .map_err(internal)
    }

    fn forget(&self, id: &str) {
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }
}

/// Turn an internal failure into a 500 problem, logging its detail.
pub(crate) fn internal(e: impl std::fmt::Display) -> Problem {
    tracing::error!("internal error: {e}");
    Problem::new(ProblemKind::Internal, format!("internal error: {e}"))
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        internal(e)
    }
}
