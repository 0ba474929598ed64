//! Where a run's result goes: gathered in memory, or written to a file as
//! the plugin produces it, so that a large result of a `chunked-plugin` is
//! never held whole by the runner either.
//!
//! The caller picks the [`ResultTarget`] in the [`RunRequest`](super::RunRequest)
//! and gets a [`ResultData`] back in the [`Output`](super::Output). The jobs
//! layer writes to a spool file in the job's directory and moves it into
//! place once the run has succeeded.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Where a run's result goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ResultTarget {
    /// Gathered in memory: [`ResultData::Bytes`].
    #[default]
    Memory,
    /// Written to this file, created or truncated when the run starts:
    /// [`ResultData::File`]. The file is not synced; the caller decides
    /// when it must be durable.
    File(PathBuf),
}

/// A run's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultData {
    /// In memory.
    Bytes(Vec<u8>),
    /// In the file of [`ResultTarget::File`].
    File {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The SHA-256 of its bytes, lowercase hex, computed as they were
        /// written.
        sha256: String,
    },
}

impl ResultData {
    /// The size in bytes.
    pub fn size(&self) -> u64 {
        match self {
            ResultData::Bytes(bytes) => bytes.len() as u64,
            ResultData::File { size, .. } => *size,
        }
    }

    /// All the bytes (read back from the file for [`ResultData::File`]).
    pub fn into_bytes(self) -> io::Result<Vec<u8>> {
        match self {
            ResultData::Bytes(bytes) => Ok(bytes),
            ResultData::File { path, .. } => std::fs::read(path),
        }
    }
}

/// The result of one run as it is written, bounded in size.
pub(crate) struct ResultSink {
    target: Sink,
    written: u64,
    max_bytes: u64,
    /// Why a write to the file failed: the file no longer holds what was
    /// written, so every later write and [`ResultSink::finish`] fail too.
    broken: Option<String>,
}

enum Sink {
    Memory(Vec<u8>),
    File {
        path: PathBuf,
        file: File,
        hasher: Sha256,
    },
}

impl ResultSink {
    /// A sink for `target` that refuses to grow past `max_bytes`; creates
    /// (or truncates) the file of [`ResultTarget::File`].
    pub(crate) fn open(target: &ResultTarget, max_bytes: u64) -> io::Result<ResultSink> {
        let target = match target {
            ResultTarget::Memory => Sink::Memory(Vec::new()),
            ResultTarget::File(path) => Sink::File {
                file: File::create(path)?,
                path: path.clone(),
                hasher: Sha256::new(),
            },
        };
        Ok(ResultSink {
            target,
            written: 0,
            max_bytes,
            broken: None,
        })
    }

    /// A sink that holds nothing and takes nothing: the state of a sandbox
    /// before its run starts.
    pub(crate) fn closed() -> ResultSink {
        ResultSink {
            target: Sink::Memory(Vec::new()),
            written: 0,
            max_bytes: 0,
            broken: None,
        }
    }

    /// Appends `data`, or says why not (the message is for the plugin).
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), String> {
        if let Some(why) = &self.broken {
            return Err(why.clone());
        }
        let total = self.written + data.len() as u64;
        if total > self.max_bytes {
            return Err(format!(
                "the result would exceed the runner's bound of {} bytes",
                self.max_bytes
            ));
        }
        match &mut self.target {
            Sink::Memory(bytes) => bytes.extend_from_slice(data),
            Sink::File { file, hasher, .. } => {
                if let Err(e) = file.write_all(data) {
                    let why = format!("the runner could not write the result: {e}");
                    self.broken = Some(why.clone());
                    return Err(why);
                }
                hasher.update(data);
            }
        }
        self.written = total;
        Ok(())
    }

    /// Everything written.
    pub(crate) fn finish(self) -> io::Result<ResultData> {
        if let Some(why) = self.broken {
            return Err(io::Error::other(why));
        }
        Ok(match self.target {
            Sink::Memory(bytes) => ResultData::Bytes(bytes),
            Sink::File {
                path,
                mut file,
                hasher,
            } => {
                file.flush()?;
                ResultData::File {
                    path,
                    size: self.written,
                    sha256: hex::encode(hasher.finalize()),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sink_writes_the_file_and_hashes_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result");
        std::fs::write(&path, b"left over from an earlier attempt").unwrap();
        let mut sink = ResultSink::open(&ResultTarget::File(path.clone()), 100).unwrap();
        sink.write(b"hello, ").unwrap();
        sink.write(b"world").unwrap();
        let data = sink.finish().unwrap();
        assert_eq!(
            data,
            ResultData::File {
                path: path.clone(),
                size: 12,
                sha256: hex::encode(Sha256::digest(b"hello, world")),
            }
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"hello, world");
    }

    #[test]
    fn both_sinks_refuse_to_pass_their_bound_and_keep_what_fit() {
        let dir = tempfile::tempdir().unwrap();
        for target in [
            ResultTarget::Memory,
            ResultTarget::File(dir.path().join("result")),
        ] {
            let mut sink = ResultSink::open(&target, 8).unwrap();
            sink.write(b"12345").unwrap();
            let error = sink.write(b"6789").unwrap_err();
            assert!(error.contains("bound of 8 bytes"), "{error}");
            sink.write(b"678").unwrap();
            assert_eq!(sink.finish().unwrap().into_bytes().unwrap(), b"12345678");
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_breaks_the_sink_for_good() {
        // Every write to /dev/full fails with "no space left on device".
        let target = ResultTarget::File("/dev/full".into());
        let mut sink = ResultSink::open(&target, 100).unwrap();
        let error = sink.write(b"abc").unwrap_err();
        assert!(error.contains("could not write the result"), "{error}");
        assert_eq!(sink.write(b"d").unwrap_err(), error);
        let finished = sink.finish().unwrap_err();
        assert_eq!(finished.to_string(), error);
    }
}
