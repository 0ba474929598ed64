//! `GET /v1/jobs/{id}/events`: server-sent events of a job's changes, ending
//! after the terminal event.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream;
use tokio::sync::watch;

use super::AppState;
use super::document::document;
use super::paths::JobId;
use super::urls::BaseUrl;
use crate::jobs::{JobRecord, Status, Watch};
use crate::problem::Problem;

fn event(record: &JobRecord, kind: &str, base: &BaseUrl) -> Event {
    Event::default()
        .event(kind)
        .id(format!("{}.{}", record.attempt, record.revision))
        .json_data(document(record, base))
        .expect("job documents serialize")
}

/// Where the stream is.
enum Cursor {
    /// Nothing sent yet.
    Start(Box<Watch>),
    /// Following a live job; the last status sent.
    Following(watch::Receiver<JobRecord>, Status),
    /// The terminal event was sent.
    Done,
}

/// Stream a job's changes.
pub async fn events(
    State(state): State<AppState>,
    JobId(id): JobId,
    base: BaseUrl,
) -> Result<Response, Problem> {
    let start = state.jobs.watch("", &id).await?;
    let stream = stream::unfold(Cursor::Start(Box::new(start)), move |cursor| {
        type Item = Result<Event, Infallible>;
        let base = base.clone();
        async move {
            match cursor {
                Cursor::Start(start) => match *start {
                    Watch::Done(record) => {
                        Some((Item::Ok(event(&record, "status", &base)), Cursor::Done))
                    }
                    Watch::Live(mut receiver) => {
                        let record = receiver.borrow_and_update().clone();
                        let next = if record.status.is_terminal() {
                            Cursor::Done
                        } else {
                            Cursor::Following(receiver, record.status)
                        };
                        Some((Ok(event(&record, "status", &base)), next))
                    }
                },
                Cursor::Following(mut receiver, last) => {
                    let changed = receiver.changed().await;
                    let record = receiver.borrow_and_update().clone();
                    if changed.is_err() && record.status == last {
                        // The job left memory without a change we had not sent.
                        return None;
                    }
                    let kind = if record.status != last {
                        "status"
                    } else {
                        "progress"
                    };
                    let next = if record.status.is_terminal() {
                        Cursor::Done
                    } else {
                        Cursor::Following(receiver, record.status)
                    };
                    Some((Ok(event(&record, kind, &base)), next))
                }
                Cursor::Done => None,
            }
        }
    });
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)));
    Ok(([(header::CACHE_CONTROL, "no-store")], sse).into_response())
}
