//! `{"file": …}` inputs and `output.file` paths: relative paths that must stay
//! inside their root.

use std::path::{Path, PathBuf};

use tokio::io::AsyncReadExt;

use crate::config::Config;
use crate::confine::check_relative;
use crate::problem::{Problem, ProblemKind};
use crate::store::{StagedInput, StagingFile};

/// Stage a file input from under the input root: its bytes are copied to a
/// staging file ([`StagingFile`]), a piece at a time, not read into memory.
pub async fn stage_input_file(
    name: &str,
    path: &str,
    max: usize,
    config: &Config,
) -> Result<StagedInput, Problem> {
    let invalid = |message: String| super::invalid_input(name, message);
    let too_large = |rest: String| {
        Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("input `{name}`: {rest}"),
        )
    };
    let Some(root) = &config.input_root else {
        return Err(invalid(
            "file inputs need an input root, and this server has none configured (--input-root)"
                .into(),
        ));
    };
    check_relative(path).map_err(invalid)?;
    let root = root.clone();
    let relative = path.to_owned();
    let checked = tokio::task::spawn_blocking(move || -> Result<(PathBuf, u64), String> {
        let root = root
            .canonicalize()
            .map_err(|e| format!("the input root is not readable: {e}"))?;
        let full = root
            .join(&relative)
            .canonicalize()
            .map_err(|e| format!("`{relative}` cannot be read: {e}"))?;
        if !full.starts_with(&root) {
            return Err(format!("`{relative}` leads outside the input root"));
        }
        let size = std::fs::metadata(&full)
            .map_err(|e| format!("`{relative}` cannot be read: {e}"))?
            .len();
        Ok((full, size))
    })
    .await
    .map_err(|e| invalid(e.to_string()))?;
    let (full, size) = checked.map_err(invalid)?;
    if size > max as u64 {
        return Err(too_large(format!(
            "`{path}` has {size} bytes; the limit is {max}"
        )));
    }

    let unreadable = |e: std::io::Error| invalid(format!("`{path}` cannot be read: {e}"));
    let keep_failed = super::staging_failed(name);
    let mut source = tokio::fs::File::open(&full).await.map_err(unreadable)?;
    let mut staged = StagingFile::create(&config.data_dir)
        .await
        .map_err(keep_failed)?;
    let mut piece = vec![0; COPY_PIECE_BYTES];
    loop {
        let read = source.read(&mut piece).await.map_err(unreadable)?;
        if read == 0 {
            break;
        }
        // The file may have grown since its size was checked.
        if staged.size() + read as u64 > max as u64 {
            return Err(too_large(format!(
                "`{path}` has more than {max} bytes, the limit"
            )));
        }
        staged.write(&piece[..read]).await.map_err(keep_failed)?;
    }
    staged.finish().await.map_err(keep_failed)
}

/// How much of a file input is copied at a time.
const COPY_PIECE_BYTES: usize = 256 << 10;

/// A media type for a file, from its extension.
pub fn guess_media_type(path: &str) -> &'static str {
    let extension = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => "application/json",
        Some("txt" | "text" | "log" | "md") => "text/plain; charset=utf-8",
        Some("csv") => "text/csv",
        Some("xml") => "application/xml",
        Some("html" | "htm") => "text/html",
        Some("yaml" | "yml") => "application/yaml",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_only_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("in.json"), b"{}").unwrap();
        std::fs::write(dir.path().join("secret"), b"s").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).unwrap();
        let config = Config {
            input_root: Some(root),
            data_dir: dir.path().join("data"),
            ..Config::default()
        };
        let staged = stage_input_file("a", "in.json", 10, &config).await.unwrap();
        let copy = dir.path().join("copy");
        staged.persist(&copy).unwrap();
        assert_eq!(std::fs::read(copy).unwrap(), b"{}");
        assert_eq!(staged.size(), 2);
        let too_large = stage_input_file("a", "in.json", 1, &config)
            .await
            .unwrap_err();
        assert!(too_large.is(ProblemKind::PayloadTooLarge));
        for path in ["../secret", "/etc/passwd", "missing", "link"] {
            let problem = stage_input_file("a", path, 10, &config).await.unwrap_err();
            assert!(problem.is(ProblemKind::InvalidInputs), "{path}: {problem}");
        }
    }
}
