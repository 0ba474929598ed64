//! Accepting a job: idempotency, the queue bound, and the durable commit that
//! comes before the `202`.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::live::{LiveJob, Phase};
use super::{InputMeta, JobRecord, Jobs, Progress, Resolved, Status, internal};
use crate::callbacks::Callback;
use crate::problem::{Problem, ProblemKind};
use crate::store::{StagedInput, StoreError};

/// One input of a new job, resolved to bytes.
#[derive(Debug, Clone)]
pub struct NewInput {
    /// The input's name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its bytes.
    pub data: InputBytes,
}

/// Where the bytes of a new job's input are until the job is committed.
#[derive(Debug, Clone)]
pub enum InputBytes {
    /// In memory.
    Memory(Vec<u8>),
    /// In a staging file, streamed there as the request arrived.
    Staged(Arc<StagedInput>),
}

impl InputBytes {
    /// The size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            InputBytes::Memory(bytes) => bytes.len() as u64,
            InputBytes::Staged(file) => file.size(),
        }
    }

    /// The SHA-256 of the bytes, lowercase hex.
    fn sha256(&self) -> String {
        match self {
            InputBytes::Memory(bytes) => hex::encode(Sha256::digest(bytes)),
            InputBytes::Staged(file) => file.sha256().to_owned(),
        }
    }

    /// Makes the bytes the file `path`, durably.
    fn persist(&self, path: &Path) -> std::io::Result<()> {
        match self {
            InputBytes::Memory(bytes) => crate::store::write_synced(path, bytes),
            InputBytes::Staged(file) => file.persist(path),
        }
    }
}

/// A validated request to start a job.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Who submits it; empty when auth is off.
    pub tenant: String,
    /// The operation.
    pub operation: String,
    /// The version of the operation's plugin the request was validated
    /// against. The job records the plugin offered when it is committed
    /// (usually the same one); this is kept only when the executor does not
    /// run plugins ([`Resolved::ByName`]).
    pub operation_version: String,
    /// The params, already checked against the operation's schema.
    pub params: Value,
    /// The inputs, already checked against the operation's declaration.
    pub inputs: Vec<NewInput>,
    /// How long the job lives after its last use.
    pub ttl_seconds: u64,
    /// How long a run may take.
    pub timeout_seconds: u64,
    /// Echoed back in the job document.
    pub correlation_id: Option<String>,
    /// Where to also write the result, relative to the output root.
    pub output_file: Option<String>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Whom to call back when the job ends.
    pub callback: Option<Callback>,
}

/// The answer to a submit.
#[derive(Debug, Clone)]
pub struct Submitted {
    /// The job as it is now.
    pub record: JobRecord,
    /// Whether this was a repeat of an earlier request with the same key.
    pub replayed: bool,
}

/// A claim on an idempotency key while its request is being accepted; the key
/// is released when this is dropped. Taken with [`Jobs::reserve_key`] before
/// the request is validated, so a repeat that arrives meanwhile is told the
/// key is in use instead of racing the first.
pub struct KeyReservation {
    jobs: Jobs,
    key: (String, String),
}

impl Drop for KeyReservation {
    fn drop(&mut self) {
        self.jobs
            .inner
            .accepting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.key);
    }
}

impl NewJob {
    /// A hash of everything that makes this request what it is, to tell a replay
    /// of an idempotent request from a different request reusing its key.
    fn request_hash(&self, inputs: &[InputMeta]) -> String {
        let canonical = json!({
            "operation": self.operation,
            "params": self.params,
            "inputs": inputs,
            "ttlSeconds": self.ttl_seconds,
            "timeoutSeconds": self.timeout_seconds,
            "correlationId": self.correlation_id,
            "output": self.output_file,
            "callback": self.callback,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

impl Jobs {
    /// Accept a job: commit it durably, then queue it. With an idempotency key,
    /// a repeat of the same request answers the existing job (`replayed`), a
    /// different request is `idempotency-key-reused`; callers that validate
    /// first should hold a [`KeyReservation`] meanwhile.
    pub async fn submit(&self, job: NewJob) -> Result<Submitted, Problem> {
        let inputs: Vec<InputMeta> = job
            .inputs
            .iter()
            .map(|input| InputMeta {
                name: input.name.clone(),
                media_type: input.media_type.clone(),
                size: input.data.size(),
                sha256: input.data.sha256(),
            })
            .collect();
        let request_hash = job.request_hash(&inputs);

        if let Some(key) = &job.idempotency_key
            && let Some(existing) = self.existing(&job.tenant, key).await?
        {
            if existing.request_hash.as_deref() == Some(request_hash.as_str()) {
                let record = self.get(&job.tenant, &existing.id).await?;
                return Ok(Submitted {
                    record,
                    replayed: true,
                });
            }
            return Err(Problem::new(
                ProblemKind::IdempotencyKeyReused,
                format!(
                    "the Idempotency-Key `{key}` was used for a different request (job {})",
                    existing.id
                ),
            ));
        }

        if self.inner.queue.len() >= self.inner.config.queue_size {
            return Err(Problem::new(
                ProblemKind::QueueFull,
                format!(
                    "{} jobs are already waiting; try again later",
                    self.inner.queue.len()
                ),
            ));
        }

        // The plugin offered now: the plugins may have changed since the
        // request was validated (and the job may still run on another one,
        // the one offered when its attempt starts).
        let (operation_version, plugin_sha256, stages) =
            match self.inner.executor.resolve(&job.operation) {
                Ok(Resolved::Plugin(plugin)) => (
                    plugin.description().version.clone(),
                    plugin.sha256().to_owned(),
                    plugin.description().stages.clone(),
                ),
                Ok(Resolved::ByName) => (
                    job.operation_version.clone(),
                    String::new(),
                    self.inner.executor.stages(&job.operation),
                ),
                Err(_) => {
                    return Err(Problem::new(
                        ProblemKind::OperationNotFound,
                        format!(
                            "there is no operation `{}` any more; GET /v1/operations lists them",
                            job.operation
                        ),
                    ));
                }
            };

        let id = uuid::Uuid::now_v7().to_string();
        let now = self.inner.clock.now();
        let record = JobRecord {
            id: id.clone(),
            tenant: job.tenant.clone(),
            operation: job.operation.clone(),
            operation_version,
            plugin_sha256,
            status: Status::Queued,
            attempt: 1,
            created_at: now,
            started_at: None,
            finished_at: None,
            updated_at: now,
            expires_at: None,
            ttl_seconds: job.ttl_seconds,
            timeout_seconds: job.timeout_seconds,
            correlation_id: job.correlation_id.clone(),
            params: job.params.clone(),
            inputs,
            output_file: job.output_file.clone(),
            progress: Progress {
                stage_count: stages.len() as u32,
                ..Progress::default()
            },
            result: None,
            error: None,
            idempotency_key: job.idempotency_key.clone(),
            request_hash: Some(request_hash),
            revision: 1,
            callback: job.callback.clone(),
        };

        let files = self.inner.files.clone();
        let write_id = id.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(files.dir(&write_id))?;
            for (index, input) in job.inputs.iter().enumerate() {
                input.data.persist(&files.input_path(&write_id, index))?;
            }
            Ok::<_, std::io::Error>(())
        })
        .await
        .map_err(internal)?
        .map_err(|e| internal(format!("could not write the inputs of job {id}: {e}")))?;

        if let Err(e) = self.inner.store.insert(&record).await {
            let _ = self.inner.files.remove(&id);
            return Err(match e {
                StoreError::DuplicateIdempotencyKey => Problem::new(
                    ProblemKind::IdempotencyKeyInUse,
                    "another request with this Idempotency-Key was accepted at the same time",
                ),
                other => internal(other),
            });
        }

        let live = Arc::new(LiveJob::new(record.clone(), Phase::Queued, stages));
        self.inner
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), live);
        self.inner.queue.push(id);
        Ok(Submitted {
            record,
            replayed: false,
        })
    }

    /// Claim `key` for a request being accepted; `idempotency-key-in-use` if
    /// another request holds it.
    pub fn reserve_key(&self, tenant: &str, key: &str) -> Result<KeyReservation, Problem> {
        let pair = (tenant.to_owned(), key.to_owned());
        let mut accepting = self
            .inner
            .accepting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if !accepting.insert(pair.clone()) {
            return Err(Problem::new(
                ProblemKind::IdempotencyKeyInUse,
                format!(
                    "a request with the Idempotency-Key `{key}` is still being accepted; retry shortly"
                ),
            ));
        }
        Ok(KeyReservation {
            jobs: self.clone(),
            key: pair,
        })
    }

    /// The live job created with this key, if any and not expired.
    async fn existing(&self, tenant: &str, key: &str) -> Result<Option<JobRecord>, Problem> {
        let Some(record) = self
            .inner
            .store
            .get_by_idempotency_key(tenant, key)
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        match self.stored(tenant, &record.id, false).await {
            Ok(record) => Ok(Some(record)),
            Err(p) if p.is(ProblemKind::JobNotFound) => Ok(None),
            Err(p) => Err(p),
        }
    }
}
