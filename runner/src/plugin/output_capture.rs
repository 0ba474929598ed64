//! Bounded capture of a guest's stdout and stderr.
//!
//! wasmtime-wasi's `MemoryOutputPipe` reports a closed stream once full, which
//! makes a Rust guest's `println!` panic. [`CapturePipe`] instead accepts every
//! write, keeps the first `limit` bytes and drops the rest, remembering that it
//! did.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much a guest may write per `check-write` permit. Bytes are copied into
/// the buffer (or dropped) as they come, so this only sizes single writes.
const WRITE_PERMIT: usize = 64 << 10;

/// What a [`CapturePipe`] has collected.
#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

/// An in-memory stdout/stderr for a guest that keeps at most `limit` bytes.
#[derive(Clone)]
pub(crate) struct CapturePipe {
    limit: usize,
    captured: Arc<Mutex<Captured>>,
}

impl CapturePipe {
    /// A pipe that keeps at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> CapturePipe {
        CapturePipe {
            limit,
            captured: Arc::new(Mutex::new(Captured::default())),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Captured> {
        // A poisoned lock only means a panic elsewhere mid-append; the bytes
        // are still fine to read.
        self.captured
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, bytes: &[u8]) {
        let limit = self.limit;
        let mut captured = self.lock();
        let room = limit.saturating_sub(captured.bytes.len());
        if bytes.len() > room {
            captured.truncated = true;
        }
        let keep = bytes.len().min(room);
        captured.bytes.extend_from_slice(&bytes[..keep]);
    }

    /// The text captured so far (lossy UTF-8) and whether bytes were dropped.
    pub(crate) fn text(&self) -> (String, bool) {
        let captured = self.lock();
        (
            String::from_utf8_lossy(&captured.bytes).into_owned(),
            captured.truncated,
        )
    }
}

impl IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.append(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_first_bytes_and_drops_the_rest_without_failing() {
        let mut pipe = CapturePipe::new(10);
        assert_eq!(pipe.check_write().unwrap(), WRITE_PERMIT);
        pipe.write(Bytes::from_static(b"hello ")).unwrap();
        assert_eq!(pipe.text(), ("hello ".to_owned(), false));
        pipe.write(Bytes::from_static(b"world, again")).unwrap();
        assert_eq!(pipe.text(), ("hello worl".to_owned(), true));
        // Still writable, still silent.
        assert_eq!(pipe.check_write().unwrap(), WRITE_PERMIT);
        pipe.write(Bytes::from_static(b"more")).unwrap();
        assert_eq!(pipe.text(), ("hello worl".to_owned(), true));
    }

    #[test]
    fn exactly_full_is_not_truncated() {
        let mut pipe = CapturePipe::new(4);
        pipe.write(Bytes::from_static(b"abcd")).unwrap();
        assert_eq!(pipe.text(), ("abcd".to_owned(), false));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut pipe = CapturePipe::new(16);
        pipe.write(Bytes::from_static(b"a\xffb")).unwrap();
        assert_eq!(pipe.text().0, "a\u{fffd}b");
    }
}
