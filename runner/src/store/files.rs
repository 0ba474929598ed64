//! The bytes of jobs on disk: inputs, results and logs, one directory per job.
//!
//! ```text
//! <data-dir>/jobs/<id>/input-<n>   the n-th input's bytes
//! <data-dir>/jobs/<id>/result      the result's bytes
//! <data-dir>/jobs/<id>/result.partial  a result being written
//! <data-dir>/jobs/<id>/log         the job's log
//! ```

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The per-job directories under the data directory.
#[derive(Debug, Clone)]
pub struct JobFiles {
    root: PathBuf,
}

impl JobFiles {
    /// Files under `<data_dir>/jobs`, creating it if needed.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("jobs");
        fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    /// The directory of job `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Where the `index`-th input of job `id` is kept.
    pub fn input_path(&self, id: &str, index: usize) -> PathBuf {
        self.dir(id).join(format!("input-{index}"))
    }

    /// Where the result of job `id` is kept.
    pub fn result_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("result")
    }

    /// Where the log of job `id` is kept.
    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join("log")
    }

    /// Write the result of job `id`, durably; returns its size and hex SHA-256.
    pub fn write_result(&self, id: &str, data: &[u8]) -> io::Result<(u64, String)> {
        fs::create_dir_all(self.dir(id))?;
        write_synced(&self.result_path(id), data)?;
        Ok((data.len() as u64, hex::encode(Sha256::digest(data))))
    }

    /// Where a run writes the result of job `id` as it goes, before it is
    /// kept ([`JobFiles::keep_spooled_result`]); creates the job's directory.
    pub fn result_spool(&self, id: &str) -> io::Result<PathBuf> {
        fs::create_dir_all(self.dir(id))?;
        Ok(partial_path(&self.result_path(id)))
    }

    /// Make the spooled result of job `id` its result, durably.
    pub fn keep_spooled_result(&self, id: &str) -> io::Result<()> {
        let spool = partial_path(&self.result_path(id));
        fs::File::open(&spool)?.sync_all()?;
        fs::rename(spool, self.result_path(id))
    }

    /// Remove what a run that did not succeed spooled for job `id`, if
    /// anything.
    pub fn discard_spooled_result(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(partial_path(&self.result_path(id))) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Append to the log of job `id`.
    pub fn append_log(&self, id: &str, text: &str) -> io::Result<()> {
        fs::create_dir_all(self.dir(id))?;
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))?;
        file.write_all(text.as_bytes())
    }

    /// The log of job `id` (empty if nothing was logged).
    pub fn read_log(&self, id: &str) -> io::Result<Vec<u8>> {
        match fs::read(self.log_path(id)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            other => other,
        }
    }

    /// Remove the result of job `id`, if any.
    pub fn remove_result(&self, id: &str) -> io::Result<()> {
        match fs::remove_file(self.result_path(id)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Remove everything of job `id`.
    pub fn remove(&self, id: &str) -> io::Result<()> {
        match fs::remove_dir_all(self.dir(id)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// The ids of every job directory on disk.
    pub fn ids_on_disk(&self) -> io::Result<Vec<String>> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.root)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                ids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(ids)
    }
}

/// Write `data` to `path` through a temporary file, synced, then renamed in place,
/// so a crash leaves either the whole file or none.
pub fn write_synced(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = partial_path(path);
    {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(data)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)
}

/// Copy the file `from` to `path` as [`write_synced`] writes it: whole, or
/// not at all.
pub fn copy_synced(from: &Path, path: &Path) -> io::Result<()> {
    let tmp = partial_path(path);
    fs::copy(from, &tmp)?;
    fs::File::open(&tmp)?.sync_all()?;
    fs::rename(&tmp, path)
}

/// The file a write to `path` goes to before it is renamed into place.
fn partial_path(path: &Path) -> PathBuf {
    path.with_extension("partial")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_inputs_results_and_logs_per_job() {
        let dir = tempfile::tempdir().unwrap();
        let files = JobFiles::open(dir.path()).unwrap();
        fs::create_dir_all(files.dir("a")).unwrap();
        write_synced(&files.input_path("a", 1), b"two").unwrap();
        assert_eq!(fs::read(files.input_path("a", 1)).unwrap(), b"two");
        assert!(!files.dir("a").join("input-1.partial").exists());
        let (size, sha) = files.write_result("a", b"abc").unwrap();
        assert_eq!(size, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        files.append_log("a", "x\n").unwrap();
        files.append_log("a", "y\n").unwrap();
        assert_eq!(files.read_log("a").unwrap(), b"x\ny\n");
        assert_eq!(files.ids_on_disk().unwrap(), vec!["a".to_owned()]);
        files.remove("a").unwrap();
        assert!(files.ids_on_disk().unwrap().is_empty());
        assert!(files.read_log("a").unwrap().is_empty());
    }

    #[test]
    fn a_spooled_result_is_kept_whole_or_discarded() {
        let dir = tempfile::tempdir().unwrap();
        let files = JobFiles::open(dir.path()).unwrap();
        let spool = files.result_spool("a").unwrap();
        fs::write(&spool, b"partial").unwrap();
        assert!(!files.result_path("a").exists(), "not the result yet");
        files.keep_spooled_result("a").unwrap();
        assert_eq!(fs::read(files.result_path("a")).unwrap(), b"partial");
        assert!(!spool.exists());

        let spool = files.result_spool("b").unwrap();
        fs::write(&spool, b"from a failed run").unwrap();
        files.discard_spooled_result("b").unwrap();
        assert!(!spool.exists());
        assert!(!files.result_path("b").exists());
        files.discard_spooled_result("b").unwrap();
        assert!(files.keep_spooled_result("b").is_err(), "nothing to keep");
    }

    #[test]
    fn a_copy_is_synced_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("from");
        let to = dir.path().join("to.json");
        fs::write(&from, b"{}").unwrap();
        copy_synced(&from, &to).unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"{}");
        assert!(!dir.path().join("to.partial").exists());
    }
}
