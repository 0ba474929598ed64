//! Callbacks: telling a client over HTTP that its job ended, reliably.
//!
//! A job may carry a [`Callback`]. When the job reaches a terminal state, the
//! commit of that state also makes its delivery pending (so a crash cannot lose
//! it); the [`Deliverer`] then sends the event, signed per Standard Webhooks
//! ([`signature`]), and retries on the [`schedule`] until the receiver answers
//! 2xx (`delivered`), 410 (`stopped`) or the attempts run out (`failed`).
//! Delivery runs on its own tasks, apart from the plugin workers, and never
//! changes the job's status. Every attempt goes through the URL guard.

mod deliverer;
pub mod schedule;
pub mod signature;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use deliverer::{Deliverer, DeliveryConfig};

/// How the event reaches the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// A JSON body with the event.
    Post,
    /// No body; `?jobId=<id>` is added to the URL.
    Get,
}

/// How the wait between attempts grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    /// Doubling from the initial interval.
    Exponential,
    /// Always the initial interval.
    Fixed,
}

/// When to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait after the first attempt.
    pub initial_interval_seconds: u64,
    /// How the wait grows.
    pub backoff: Backoff,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not yet delivered: waiting for the job to end, or for the next attempt.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
    /// The receiver answered 410 Gone.
    Stopped,
}

/// A job's callback and the state of its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Callback {
    /// Where to deliver.
    pub url: String,
    /// How.
    pub method: Method,
    /// The job's own signing secret, if it gave one (never shown).
    pub secret: Option<String>,
    /// The retry policy.
    pub retry: RetryPolicy,
    /// The delivery's state.
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
    /// The status code of the last answer, if there was one.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// When the next attempt is due; set once the job has ended.
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// The event body, fixed at the first attempt so that every attempt sends
    /// the same bytes.
    pub body: Option<String>,
}

impl Callback {
    /// A new, pending callback.
    pub fn new(url: String, method: Method, secret: Option<String>, retry: RetryPolicy) -> Self {
        Callback {
            url,
            method,
            secret,
            retry,
            state: DeliveryState::Pending,
            attempts: 0,
            last_status_code: None,
            last_error: None,
            next_attempt_at: None,
            body: None,
        }
    }

    /// When the delivery is due, if it is pending and scheduled.
    pub fn due_at(&self) -> Option<OffsetDateTime> {
        match self.state {
            DeliveryState::Pending => self.next_attempt_at,
            _ => None,
        }
    }
}
