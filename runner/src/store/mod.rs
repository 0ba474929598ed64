//! Durable storage of jobs.
//!
//! [`JobStore`] is the seam between the job engine and a database: the embedded
//! SQLite store ([`SqliteStore`]) is the default, and the trait is shaped so a
//! PostgreSQL store shared by several runner nodes can follow (every method is
//! async, every write names the job it touches, and nothing relies on a single
//! process holding state).
//!
//! The bytes of inputs, results and logs are files, kept by [`JobFiles`]; the store
//! holds their metadata. Inputs that arrive as a stream are staged on disk
//! before their job exists ([`StagingFile`]).

mod files;
mod sqlite;
mod staging;

use async_trait::async_trait;
use time::OffsetDateTime;

pub use files::{JobFiles, copy_synced, write_synced};
pub use sqlite::SqliteStore;
pub use staging::{StagedInput, StagingFile, clear_staging};

use crate::callbacks::Callback;
use crate::jobs::{JobRecord, Progress, Status};

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A job with this tenant and idempotency key already exists.
    #[error("a job with this idempotency key already exists")]
    DuplicateIdempotencyKey,
    /// The backend failed.
    #[error("store error: {0}")]
    Backend(String),
}

/// What to list: filters and a page position. Newest first.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only this tenant's jobs.
    pub tenant: String,
    /// Only these statuses (any, when empty).
    pub statuses: Vec<Status>,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only jobs created strictly after this time.
    pub created_after: Option<OffsetDateTime>,
    /// Only jobs created strictly before this time.
    pub created_before: Option<OffsetDateTime>,
    /// Only jobs whose id sorts before this one (the cursor).
    pub before_id: Option<String>,
    /// At most this many.
    pub limit: usize,
    /// Leave out terminal jobs whose expiry is at or before this time.
    pub now: Option<OffsetDateTime>,
}

/// Durable storage of job records.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Insert a new job, durably. Fails with
    /// [`StoreError::DuplicateIdempotencyKey`] if its tenant already has a job with
    /// its idempotency key.
    async fn insert(&self, job: &JobRecord) -> Result<(), StoreError>;

    /// One job by id.
    async fn get(&self, id: &str) -> Result<Option<JobRecord>, StoreError>;

    /// The job a tenant created with an idempotency key.
    async fn get_by_idempotency_key(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<JobRecord>, StoreError>;

    /// Replace a job's record.
    async fn update(&self, job: &JobRecord) -> Result<(), StoreError>;

    /// Record progress of an active job; does nothing once the job is terminal
    /// in the store, so a late flush never overwrites a final record.
    async fn update_progress(
        &self,
        id: &str,
        progress: &Progress,
        revision: u64,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Move a terminal job's expiry deadline.
    async fn set_expiry(&self, id: &str, expires_at: OffsetDateTime) -> Result<(), StoreError>;

    /// Remove a job; returns whether it existed.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;

    /// Jobs matching `query`, newest first.
    async fn list(&self, query: &ListQuery) -> Result<Vec<JobRecord>, StoreError>;

    /// Ids of terminal jobs whose expiry is at or before `now`, at most `limit`;
    /// a job whose callback delivery is pending does not expire.
    async fn expired(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<String>, StoreError>;

    /// Every queued or running job, oldest first: what recovery picks up after a restart.
    async fn unfinished(&self) -> Result<Vec<JobRecord>, StoreError>;

    /// Terminal jobs whose callback delivery is due at `now`, earliest first.
    async fn due_callbacks(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<JobRecord>, StoreError>;

    /// Record the state of a job's callback delivery (a change of the job: its
    /// revision is raised).
    async fn update_callback(
        &self,
        id: &str,
        callback: &Callback,
        updated_at: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Every job id in the store; used to remove orphaned files at start.
    async fn all_ids(&self) -> Result<Vec<String>, StoreError>;
}
