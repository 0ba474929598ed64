//! `{"file": …}` inputs and `output.file` paths: relative paths that must stay
//! inside their root.

use std::path::Path;

use crate::confine::check_relative;

use crate::config::Config;
use crate::problem::{Problem, ProblemKind};

/// Read a file input from under the input root.
pub async fn read_input_file(
    name: &str,
    path: &str,
    max: usize,
    config: &Config,
) -> Result<Vec<u8>, Problem> {
    let invalid = |message: String| super::invalid_input(name, message);
    let Some(root) = &config.input_root else {
        return Err(invalid(
            "file inputs need an input root, and this server has none configured (--input-root)"
                .into(),
        ));
    };
    check_relative(path).map_err(invalid)?;
    let root = root.clone();
    let relative = path.to_owned();
    let read = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
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
        if size > max as u64 {
            return Err(format!(
                "TOO_LARGE `{relative}` has {size} bytes; the limit is {max}"
            ));
        }
        std::fs::read(&full).map_err(|e| format!("`{relative}` cannot be read: {e}"))
    })
    .await
    .map_err(|e| invalid(e.to_string()))?;
    read.map_err(|message| match message.strip_prefix("TOO_LARGE ") {
        Some(rest) => Problem::new(
            ProblemKind::PayloadTooLarge,
            format!("input `{name}`: {rest}"),
        ),
        None => invalid(message),
    })
}

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
            ..Config::default()
        };
        assert_eq!(
            read_input_file("a", "in.json", 10, &config).await.unwrap(),
            b"{}"
        );
        let too_large = read_input_file("a", "in.json", 1, &config)
            .await
            .unwrap_err();
        assert!(too_large.is(ProblemKind::PayloadTooLarge));
        for path in ["../secret", "/etc/passwd", "missing", "link"] {
            let problem = read_input_file("a", path, 10, &config).await.unwrap_err();
            assert!(problem.is(ProblemKind::InvalidInputs), "{path}: {problem}");
        }
    }
}
