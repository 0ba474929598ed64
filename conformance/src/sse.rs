//! A strict reader of server-sent event streams (section 12).
//!
//! It keeps what a lenient client would smooth over: how many `data:` lines an
//! event had, comment lines, and whether the stream ended.

use std::time::{Duration, Instant};

/// One event: the fields of one block of lines ended by a blank line.
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    /// The `event:` field.
    pub event: Option<String>,
    /// The `id:` field.
    pub id: Option<String>,
    /// Every `data:` line, in order.
    pub data: Vec<String>,
}

/// What reading the next event gave.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(SseEvent),
    /// The server ended the stream.
    End,
    /// Nothing within the time allowed.
    Timeout,
}

/// An open event stream.
pub struct EventStream {
    response: reqwest::Response,
    buffer: Vec<u8>,
    ended: bool,
    /// Comment lines (`:` …) seen so far, with the time each arrived.
    pub comments: Vec<Instant>,
}

impl EventStream {
    /// Read events from an answer whose headers have arrived.
    pub fn new(response: reqwest::Response) -> EventStream {
        EventStream {
            response,
            buffer: Vec::new(),
            ended: false,
            comments: Vec::new(),
        }
    }

    /// The next event, waiting at most `within`.
    pub async fn next(&mut self, within: Duration) -> Next {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(event) = self.take_event() {
                return Next::Event(event);
            }
            if self.ended {
                return Next::End;
            }
            match tokio::time::timeout_at(deadline, self.response.chunk()).await {
                Err(_) => return Next::Timeout,
                Ok(Ok(Some(chunk))) => self.buffer.extend_from_slice(&chunk),
                Ok(Ok(None)) | Ok(Err(_)) => self.ended = true,
            }
        }
    }

    /// Take one complete event out of the buffer, counting comments.
    fn take_event(&mut self) -> Option<SseEvent> {
        loop {
            let text = String::from_utf8_lossy(&self.buffer).into_owned();
            let normalized = text.replace("\r\n", "\n");
            let end = normalized.find("\n\n")?;
            let block = normalized[..end].to_owned();
            let rest = normalized[end + 2..].to_owned();
            self.buffer = rest.into_bytes();
            let mut event = SseEvent::default();
            let mut fields = 0;
            for line in block.lines() {
                if line.starts_with(':') {
                    self.comments.push(Instant::now());
                    continue;
                }
                let (name, value) = line.split_once(':').unwrap_or((line, ""));
                let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                fields += 1;
                match name {
                    "event" => event.event = Some(value),
                    "id" => event.id = Some(value),
                    "data" => event.data.push(value),
                    _ => {}
                }
            }
            if fields > 0 {
                return Some(event);
            }
        }
    }
}
