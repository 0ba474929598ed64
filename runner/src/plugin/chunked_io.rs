//! The `longrun:plugin/chunked-io` interface (WIT 1.1): a run of a
//! `chunked-plugin` reads its inputs and writes its result in pieces, so
//! neither has to fit in the plugin's linear memory at once.
//!
//! The inputs stay where the runner keeps them ([`InputData::File`], the
//! job's input files, or [`InputData::Bytes`]); each `read-input` copies
//! just the asked-for range into the guest. Each `write-result` goes to the
//! run's [`ResultSink`]: memory or a file, as the request asked
//! ([`ResultTarget`](super::ResultTarget)), bounded by
//! [`HostConfig::max_result_bytes`](super::HostConfig).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::bindings::chunked::chunked_io;
use super::result_target::ResultSink;
use super::sandbox::HostState;

/// Where an input's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputData {
    /// In memory.
    Bytes(Vec<u8>),
    /// In a file, read when the plugin asks (all of it at once for a plugin
    /// of the world `plugin`, which takes inputs whole).
    File(PathBuf),
}

impl From<Vec<u8>> for InputData {
    fn from(bytes: Vec<u8>) -> InputData {
        InputData::Bytes(bytes)
    }
}

impl InputData {
    /// All the bytes.
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self {
            InputData::Bytes(bytes) => Ok(bytes),
            InputData::File(path) => std::fs::read(path),
        }
    }
}

/// One input of a chunked run, opened.
pub(crate) enum OpenInput {
    Bytes(Vec<u8>),
    File { file: File, size: u64 },
}

impl OpenInput {
    /// Opens `data`; its size too.
    pub(crate) fn open(data: InputData) -> std::io::Result<OpenInput> {
        Ok(match data {
            InputData::Bytes(bytes) => OpenInput::Bytes(bytes),
            InputData::File(path) => {
                let file = File::open(path)?;
                let size = file.metadata()?.len();
                OpenInput::File { file, size }
            }
        })
    }

    /// The size in bytes.
    pub(crate) fn size(&self) -> u64 {
        match self {
            OpenInput::Bytes(bytes) => bytes.len() as u64,
            OpenInput::File { size, .. } => *size,
        }
    }

    /// Exactly `min(length, size - offset)` bytes from `offset`.
    fn read(&mut self, offset: u64, length: u32) -> Result<Vec<u8>, String> {
        let size = self.size();
        if offset > size {
            return Err(format!(
                "offset {offset} is past the end of the input ({size} bytes)"
            ));
        }
        let count = u64::from(length).min(size - offset) as usize;
        match self {
            OpenInput::Bytes(bytes) => {
                let start = offset as usize;
                Ok(bytes[start..start + count].to_vec())
            }
            OpenInput::File { file, .. } => {
                let mut piece = vec![0; count];
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(&mut piece))
                    .map_err(|e| format!("the runner could not read the input: {e}"))?;
                Ok(piece)
            }
        }
    }
}

/// The chunked I/O of one run: its inputs and the result written so far.
pub(crate) struct ChunkedIo {
    pub(crate) inputs: Vec<OpenInput>,
    pub(crate) result: ResultSink,
}

impl chunked_io::Host for HostState {
    fn read_input(&mut self, index: u32, offset: u64, length: u32) -> Result<Vec<u8>, String> {
        let count = self.chunked.inputs.len();
        let input = self.chunked.inputs.get_mut(index as usize).ok_or_else(|| {
            format!("there is no input {index}: the run has {count} inputs (0-based)")
        })?;
        input.read(offset, length)
    }

    fn write_result(&mut self, data: Vec<u8>) -> Result<(), String> {
        self.chunked.result.write(&data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_exact_and_bounded_by_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("input");
        std::fs::write(&path, b"0123456789").unwrap();
        for data in [
            InputData::Bytes(b"0123456789".to_vec()),
            InputData::File(path),
        ] {
            let mut input = OpenInput::open(data).unwrap();
            assert_eq!(input.size(), 10);
            assert_eq!(input.read(2, 3).unwrap(), b"234");
            assert_eq!(input.read(8, 100).unwrap(), b"89");
            assert_eq!(input.read(10, 5).unwrap(), b"");
            let error = input.read(11, 1).unwrap_err();
            assert!(error.contains("past the end"), "{error}");
        }
    }
}
