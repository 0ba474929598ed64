//! Active jobs in memory.
//!
//! While a job is queued or running its current record lives in a [`LiveJob`]:
//! readers get it from memory, long-polls and event streams wait on its watch
//! channel, and the plugin's progress lands here first. The store gets progress
//! coalesced (see `progress.rs`) and every status change before anyone sees it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::watch;

use super::JobRecord;
use crate::clock::{Clock, rfc3339};
use crate::plugin::{LogLevel, OutputStream, ProgressUpdate, RunControl};
use crate::store::JobFiles;

/// Where an active job is, as far as cancel and the worker are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting in the queue.
    Queued,
    /// Handed to a worker.
    Running,
    /// Its outcome is being committed; nothing can change it any more.
    Finishing,
}

/// An active job's in-memory state.
pub struct LiveJob {
    /// The current record; every change is published to waiters.
    pub record: watch::Sender<JobRecord>,
    /// Set by cancel; the plugin host stops the plugin when it sees it.
    pub cancel: AtomicBool,
    /// Guards the race between cancel and the end of a run.
    pub phase: Mutex<Phase>,
    /// Progress changed since the last flush to the store.
    pub progress_dirty: AtomicBool,
    /// A delete is under way: waiters answer `job-not-found`.
    pub deleting: AtomicBool,
    /// The stages of the operation's plugin, to place a reported stage: of
    /// the plugin of the current attempt once one has started.
    stages: Mutex<Vec<String>>,
}

impl LiveJob {
    /// A live job for `record`.
    pub fn new(record: JobRecord, phase: Phase, stages: Vec<String>) -> Self {
        Self {
            record: watch::Sender::new(record),
            cancel: AtomicBool::new(false),
            phase: Mutex::new(phase),
            progress_dirty: AtomicBool::new(false),
            deleting: AtomicBool::new(false),
            stages: Mutex::new(stages),
        }
    }

    /// The stages reported stages are placed among.
    pub fn stages(&self) -> Vec<String> {
        self.stages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Place reported stages among `stages` from now on: those of the plugin
    /// of an attempt that starts.
    pub fn set_stages(&self, stages: Vec<String>) {
        *self.stages.lock().unwrap_or_else(|e| e.into_inner()) = stages;
    }

    /// The current record.
    pub fn snapshot(&self) -> JobRecord {
        self.record.borrow().clone()
    }

    /// The current phase.
    pub fn phase(&self) -> std::sync::MutexGuard<'_, Phase> {
        self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Apply a plugin's progress report: percent never goes down within an
    /// attempt, and the stage is placed among the operation's stages.
    pub fn apply_progress(&self, update: &ProgressUpdate, clock: &dyn Clock) {
        let changed = self.record.send_if_modified(|record| {
            let mut progress = record.progress.clone();
            if let Some(percent) = update.percent.filter(|p| p.is_finite()) {
                progress.percent = progress.percent.max(percent.clamp(0.0, 100.0));
            }
            if let Some(stage) = &update.stage {
                progress.stage_index = self
                    .stages
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .position(|s| s == stage)
                    .map(|i| i as u32);
                progress.stage = Some(stage.clone());
            }
            if let Some(message) = &update.message {
                progress.message = Some(truncate(message, 1024).to_owned());
            }
            if progress == record.progress {
                return false;
            }
            record.progress = progress;
            record.revision += 1;
            record.updated_at = clock.now();
            true
        });
        if changed {
            self.progress_dirty.store(true, Ordering::Release);
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The job's log file, bounded.
pub struct JobLog {
    files: JobFiles,
    id: String,
    written: AtomicU64,
    max_bytes: u64,
    clock: std::sync::Arc<dyn Clock>,
}

impl JobLog {
    /// The log of job `id`, at most `max_bytes` long.
    pub fn new(
        files: JobFiles,
        id: String,
        max_bytes: u64,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Self {
        let written = std::fs::metadata(files.log_path(&id))
            .map(|m| m.len())
            .unwrap_or(0);
        Self {
            files,
            id,
            written: AtomicU64::new(written),
            max_bytes,
            clock,
        }
    }

    /// Append one line per line of `text`, prefixed with the time and `tag`.
    ///
    /// Each line is appended on its own, so that when the log reaches its
    /// limit the lines of a message that fit are kept and the first that does
    /// not fit is where the log ends (LOG-6).
    pub fn line(&self, tag: &str, text: &str) {
        let now = rfc3339(self.clock.now());
        for line in text.lines() {
            self.append(&format!("{now} {tag} {line}\n"));
        }
    }

    fn append(&self, text: &str) {
        let len = text.len() as u64;
        let before = self.written.fetch_add(len, Ordering::AcqRel);
        if before >= self.max_bytes {
            return;
        }
        let result = if before + len > self.max_bytes {
            let note = format!(
                "{} NOTE the log reached its limit of {} bytes; later lines were dropped\n",
                rfc3339(self.clock.now()),
                self.max_bytes
            );
            self.files.append_log(&self.id, &note)
        } else {
            self.files.append_log(&self.id, text)
        };
        if let Err(e) = result {
            tracing::warn!(job = %self.id, "could not write the job log: {e}");
        }
    }
}

/// What a plugin talks to while it runs: the bridge from the plugin host to the job.
pub struct JobControl {
    /// The job.
    pub live: std::sync::Arc<LiveJob>,
    /// Its log.
    pub log: JobLog,
    /// The clock.
    pub clock: std::sync::Arc<dyn Clock>,
}

impl RunControl for JobControl {
    fn progress(&self, update: ProgressUpdate) {
        self.live.apply_progress(&update, self.clock.as_ref());
    }

    fn log(&self, level: LogLevel, message: &str) {
        let tag = match level {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
        };
        self.log.line(tag, message);
    }

    fn output(&self, stream: OutputStream, text: &str, truncated: bool) {
        let tag = match stream {
            OutputStream::Stdout => "STDOUT",
            OutputStream::Stderr => "STDERR",
        };
        self.log.line(tag, text);
        if truncated {
            self.log
                .line("NOTE", &format!("{tag} was truncated by the runner"));
        }
    }

    fn is_cancelled(&self) -> bool {
        self.live.cancel.load(Ordering::Acquire)
    }
}
