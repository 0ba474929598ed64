//! What the runner knows about a job: the [`JobRecord`] kept in the store and,
//! while the job is active, in memory.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Status;
use crate::callbacks::Callback;
use crate::problem::Problem;

/// How far a job has come.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    /// 0 to 100; never goes down within an attempt; 100 on success.
    pub percent: f64,
    /// The current stage, one of the operation's stages.
    pub stage: Option<String>,
    /// The 0-based index of `stage` among the operation's stages.
    pub stage_index: Option<u32>,
    /// How many stages the operation has.
    pub stage_count: u32,
    /// The plugin's last message.
    pub message: Option<String>,
}

/// One input of a job, as kept: its bytes live in the job's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputMeta {
    /// The input's name.
    pub name: String,
    /// Its media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The hex SHA-256 of its bytes.
    pub sha256: String,
}

/// The result of a succeeded job; its bytes live in the job's directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultMeta {
    /// The result's media type.
    pub media_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// The hex SHA-256 of its bytes.
    pub sha256: String,
}

/// Everything the runner keeps about one job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    /// The job's id (a UUIDv7, so ids sort by creation time).
    pub id: String,
    /// Who owns the job; empty when auth is off.
    pub tenant: String,
    /// The operation's name.
    pub operation: String,
    /// The version of the plugin of the current attempt; until the first
    /// attempt starts, of the plugin offered when the job was accepted.
    pub operation_version: String,
    /// The SHA-256 (lowercase hex) of the component bytes of the same plugin
    /// as `operation_version`. Empty when there is none to name: for jobs
    /// stored before the runner recorded it, and for executors that do not
    /// run plugins.
    pub plugin_sha256: String,
    /// The status.
    pub status: Status,
    /// 1 for the first run; raised when a crash interrupts a run.
    pub attempt: u32,
    /// When the job was accepted.
    pub created_at: OffsetDateTime,
    /// When the current attempt started running.
    pub started_at: Option<OffsetDateTime>,
    /// When the job reached its terminal state.
    pub finished_at: Option<OffsetDateTime>,
    /// When anything about the job last changed.
    pub updated_at: OffsetDateTime,
    /// When a terminal job will be removed; `None` while active.
    pub expires_at: Option<OffsetDateTime>,
    /// How long a terminal job lives after its last use.
    pub ttl_seconds: u64,
    /// How long a run may take.
    pub timeout_seconds: u64,
    /// The client's correlation id, echoed back.
    pub correlation_id: Option<String>,
    /// The validated params.
    pub params: serde_json::Value,
    /// The inputs (their bytes are in the job's directory).
    pub inputs: Vec<InputMeta>,
    /// Where to also write the result, relative to the output root.
    pub output_file: Option<String>,
    /// Progress of the current attempt.
    pub progress: Progress,
    /// The result, once succeeded.
    pub result: Option<ResultMeta>,
    /// The error, once failed.
    pub error: Option<Problem>,
    /// The `Idempotency-Key` the job was created with.
    pub idempotency_key: Option<String>,
    /// A hash of the request, to tell a replay from a reuse of the key.
    pub request_hash: Option<String>,
    /// Raised on every change; with `attempt` it makes the ETag.
    pub revision: u64,
    /// The callback, and how its delivery goes.
    pub callback: Option<Callback>,
}

impl JobRecord {
    /// The entity tag of the job document: it changes whenever anything but
    /// `expiresAt` changes.
    pub fn etag(&self) -> String {
        format!("\"{}.{}\"", self.attempt, self.revision)
    }

    /// End the job in the terminal `status` at `now`: it expires `ttlSeconds`
    /// later, and its callback delivery, if any, is due at once (committed with
    /// the terminal state, so a crash cannot lose it).
    pub fn end(&mut self, status: Status, now: OffsetDateTime) {
        debug_assert!(status.is_terminal());
        self.status = status;
        self.finished_at = Some(now);
        self.updated_at = now;
        self.expires_at = Some(now + std::time::Duration::from_secs(self.ttl_seconds));
        self.revision += 1;
        if let Some(callback) = self.callback.as_mut() {
            callback.next_attempt_at = Some(now);
        }
    }

    /// Whether the job may expire: terminal, and no callback delivery pending.
    pub fn may_expire(&self) -> bool {
        self.status.is_terminal() && self.callback.as_ref().and_then(|c| c.due_at()).is_none()
    }
}
