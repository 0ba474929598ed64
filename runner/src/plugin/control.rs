//! How a running plugin talks to the job it runs for: [`RunControl`] and the
//! values passed through it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;

/// A progress report from a plugin, as the jobs layer sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressUpdate {
    /// How far the run has come, 0 to 100. A `fraction` from the plugin is
    /// converted; values are clamped to `0..=100`; NaN (and a fraction of a
    /// zero total) is dropped.
    pub percent: Option<f64>,
    /// The current stage, as the plugin named it (normally one of
    /// [`Description::stages`](super::Description::stages); not checked).
    pub stage: Option<String>,
    /// A short message for people.
    pub message: Option<String>,
}

/// The level of a plugin's log message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal information.
    Info,
    /// Something unexpected that the plugin got past.
    Warn,
    /// Something failed.
    Error,
}

/// Which captured output stream [`RunControl::output`] delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputStream {
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr (a Rust guest's panic message lands here).
    Stderr,
}

/// How a running plugin talks to the job it runs for. Implemented by the jobs
/// layer.
///
/// The methods are called on the thread that runs the plugin (or, with
/// [`Plugin::run`](super::Plugin::run), on a helper thread it starts); they
/// should be quick and must not block for long, since the guest waits for them.
pub trait RunControl: Send + Sync {
    /// The plugin reported progress.
    fn progress(&self, update: ProgressUpdate);
    /// The plugin logged a message (already capped in size, see
    /// [`MAX_LOG_MESSAGE_BYTES`](super::MAX_LOG_MESSAGE_BYTES)).
    fn log(&self, level: LogLevel, message: &str);
    /// Captured stdout/stderr text, called once per stream at the end of the
    /// run (possibly truncated, lossy UTF-8), only if non-empty. `truncated`
    /// says whether output past the bound was dropped.
    fn output(&self, stream: OutputStream, text: &str, truncated: bool);
    /// Whether the job has been canceled. Polled at every epoch tick while
    /// the plugin runs, so it must be cheap (an atomic load).
    fn is_cancelled(&self) -> bool;
}

/// What the relay carries from the guest's thread to the borrowed control.
enum Event {
    Progress(ProgressUpdate),
    Log(LogLevel, String),
    Output(OutputStream, String, bool),
}

/// How often the relay thread polls the borrowed control for a cancel when
/// the plugin is quiet.
const RELAY_POLL: Duration = Duration::from_millis(5);
/// How many events may wait for the relay thread before the guest waits.
const RELAY_CAPACITY: usize = 1024;

/// A `'static` [`RunControl`] standing in for a borrowed one: calls become
/// events for a relay thread that holds the borrowed control (see
/// [`Relay::forward`]), and the cancel flag is a mirror that thread keeps up to
/// date.
///
/// Wasmtime's store data must be `'static`, so a run with a borrowed
/// `&dyn RunControl` goes through this.
pub(crate) struct Relay {
    events: SyncSender<Event>,
    cancelled: Arc<AtomicBool>,
}

impl Relay {
    /// A relay, and the receiving end for [`Relay::forward`].
    pub(crate) fn new(cancelled: bool) -> (Arc<Relay>, RelayReceiver) {
        let (events, receiver) = std::sync::mpsc::sync_channel(RELAY_CAPACITY);
        let cancelled = Arc::new(AtomicBool::new(cancelled));
        let relay = Arc::new(Relay {
            events,
            cancelled: cancelled.clone(),
        });
        (
            relay,
            RelayReceiver {
                events: receiver,
                cancelled,
            },
        )
    }

    fn send(&self, event: Event) {
        match self.events.try_send(event) {
            Ok(()) => {}
            // The relay thread is behind: wait for it (this is the guest's
            // thread, so a flooding guest slows down instead of filling memory).
            Err(TrySendError::Full(event)) => {
                let _ = self.events.send(event);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Forwards events to `control` until every [`Relay`] handle is dropped,
    /// and keeps the relay's cancel mirror in step with `control`. Runs on
    /// the relay thread.
    pub(crate) fn forward(receiver: RelayReceiver, control: &dyn RunControl) {
        loop {
            match receiver.events.recv_timeout(RELAY_POLL) {
                Ok(Event::Progress(update)) => control.progress(update),
                Ok(Event::Log(level, message)) => control.log(level, &message),
                Ok(Event::Output(stream, text, truncated)) => {
                    control.output(stream, &text, truncated)
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if control.is_cancelled() {
                receiver.cancelled.store(true, Ordering::Relaxed);
            }
        }
    }
}

/// The receiving end of a [`Relay`].
pub(crate) struct RelayReceiver {
    events: Receiver<Event>,
    cancelled: Arc<AtomicBool>,
}

impl RunControl for Relay {
    fn progress(&self, update: ProgressUpdate) {
        self.send(Event::Progress(update));
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.send(Event::Log(level, message.to_owned()));
    }

    fn output(&self, stream: OutputStream, text: &str, truncated: bool) {
        self.send(Event::Output(stream, text.to_owned(), truncated));
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
}

/// A control for runs that belong to no job (`describe` at load time): never
/// canceled, and whatever the plugin says goes to the runner's own log.
pub(crate) struct LoadTimeControl {
    pub(crate) origin: String,
}

impl RunControl for LoadTimeControl {
    fn progress(&self, _update: ProgressUpdate) {}

    fn log(&self, level: LogLevel, message: &str) {
        let origin = &self.origin;
        match level {
            LogLevel::Trace => tracing::trace!(plugin = %origin, "{message}"),
            LogLevel::Debug => tracing::debug!(plugin = %origin, "{message}"),
            LogLevel::Info => tracing::info!(plugin = %origin, "{message}"),
            LogLevel::Warn => tracing::warn!(plugin = %origin, "{message}"),
            LogLevel::Error => tracing::error!(plugin = %origin, "{message}"),
        }
    }

    fn output(&self, stream: OutputStream, text: &str, truncated: bool) {
        tracing::debug!(plugin = %self.origin, ?stream, truncated, "output during describe: {text}");
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}
