//! Inputs on disk before their job exists: `<data-dir>/staging/<uuid>`.
//!
//! An input that arrives as a stream (a multipart part) is written to a
//! staging file as it comes, hashed on the way ([`StagingFile`]), so it
//! costs the runner no more memory than one chunk. When the job is
//! committed, each staged file is synced and renamed into the job's
//! directory ([`StagedInput::persist`]); a request that fails validation
//! drops its staged inputs, which removes their files. Files a crash left
//! behind are removed when the server starts ([`clear_staging`]).

use std::io;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// The staging directory under the data directory.
fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("staging")
}

/// Removes whatever an earlier run of the server left in the staging
/// directory, and creates it.
pub fn clear_staging(data_dir: &Path) -> io::Result<()> {
    let dir = staging_dir(data_dir);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::fs::create_dir_all(dir)
}

/// A staging file being written.
pub struct StagingFile {
    /// Removes the file if this is dropped before [`StagingFile::finish`].
    staged: StagedInput,
    file: tokio::fs::File,
    hasher: Sha256,
}

impl StagingFile {
    /// A new, empty staging file under `data_dir`.
    pub async fn create(data_dir: &Path) -> io::Result<StagingFile> {
        let dir = staging_dir(data_dir);
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(uuid::Uuid::now_v7().to_string());
        let file = tokio::fs::File::create(&path).await?;
        Ok(StagingFile {
            staged: StagedInput {
                path,
                size: 0,
                sha256: String::new(),
            },
            file,
            hasher: Sha256::new(),
        })
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.staged.size
    }

    /// Appends `chunk`.
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.staged.size += chunk.len() as u64;
        Ok(())
    }

    /// The staged input: everything written.
    pub async fn finish(mut self) -> io::Result<StagedInput> {
        self.file.flush().await?;
        self.staged.sha256 = hex::encode(self.hasher.finalize());
        Ok(self.staged)
    }
}

/// One input on disk until its job is committed. Dropping it removes the
/// file, unless it was persisted.
#[derive(Debug)]
pub struct StagedInput {
    path: PathBuf,
    size: u64,
    sha256: String,
}

impl StagedInput {
    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The SHA-256 of its bytes, lowercase hex.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Makes it the file `to`, durably: synced, then renamed (the staging
    /// directory is on the same file system as the jobs' directories).
    pub fn persist(&self, to: &Path) -> io::Result<()> {
        std::fs::File::open(&self.path)?.sync_all()?;
        std::fs::rename(&self.path, to)
    }
}

impl Drop for StagedInput {
    fn drop(&mut self) {
        // After `persist` nothing is left at the path (its name is unique),
        // and this does nothing.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl PartialEq for StagedInput {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged_names(data_dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(staging_dir(data_dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    #[tokio::test]
    async fn a_staged_input_is_persisted_whole_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = StagingFile::create(dir.path()).await.unwrap();
        file.write(b"hello, ").await.unwrap();
        file.write(b"world").await.unwrap();
        assert_eq!(file.size(), 12);
        let staged = file.finish().await.unwrap();
        assert_eq!(staged.size(), 12);
        assert_eq!(
            staged.sha256(),
            hex::encode(Sha256::digest(b"hello, world"))
        );
        let kept = dir.path().join("input-0");
        staged.persist(&kept).unwrap();
        drop(staged);
        assert_eq!(std::fs::read(&kept).unwrap(), b"hello, world");
        assert!(staged_names(dir.path()).is_empty());

        let mut file = StagingFile::create(dir.path()).await.unwrap();
        file.write(b"abandoned").await.unwrap();
        assert_eq!(staged_names(dir.path()).len(), 1);
        drop(file);
        assert!(
            staged_names(dir.path()).is_empty(),
            "a dropped write is removed"
        );

        let staged = StagingFile::create(dir.path())
            .await
            .unwrap()
            .finish()
            .await
            .unwrap();
        assert_eq!(staged_names(dir.path()).len(), 1);
        drop(staged);
        assert!(
            staged_names(dir.path()).is_empty(),
            "an unpersisted input is removed"
        );
    }

    #[test]
    fn clearing_removes_what_a_crash_left() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(staging_dir(dir.path())).unwrap();
        std::fs::write(staging_dir(dir.path()).join("left-over"), b"x").unwrap();
        clear_staging(dir.path()).unwrap();
        assert!(staged_names(dir.path()).is_empty());
        clear_staging(dir.path()).unwrap();
    }
}
