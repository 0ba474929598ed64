//! Relative paths kept inside their root: `{"file": …}` inputs under the input
//! root and `output.file` results under the output root.

use std::path::{Component, Path, PathBuf};

/// Check that `path` is relative and has no `..`: it cannot name a place
/// outside its root by its spelling.
pub fn check_relative(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("must not be empty".into());
    }
    for component in Path::new(path).components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(format!("`{path}` must not contain `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!("`{path}` must be a relative path"));
            }
        }
    }
    Ok(())
}

/// The path of `relative` under `root`, checked to stay inside it through
/// symbolic links too: the file, if it exists, or else its deepest existing
/// ancestor must resolve to a place inside the root.
pub fn confine(root: &Path, relative: &str) -> Result<PathBuf, String> {
    check_relative(relative)?;
    let root = root
        .canonicalize()
        .map_err(|e| format!("the root directory {} is not usable: {e}", root.display()))?;
    let full = root.join(relative);
    let mut existing = full.as_path();
    loop {
        match existing.canonicalize() {
            Ok(real) if real.starts_with(&root) => return Ok(full),
            Ok(_) => return Err(format!("`{relative}` leads outside its root directory")),
            Err(_) => match existing.parent() {
                Some(parent) => existing = parent,
                None => return Err(format!("`{relative}` cannot be resolved")),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_only() {
        assert!(check_relative("a/b.json").is_ok());
        assert!(check_relative("./a").is_ok());
        assert!(check_relative("").is_err());
        assert!(check_relative("/etc/passwd").is_err());
        assert!(check_relative("a/../../b").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_out_of_the_root_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(root.join("inside")).unwrap();
        std::fs::create_dir(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        std::os::unix::fs::symlink(outside.join("f"), root.join("file-link")).unwrap();
        std::fs::write(outside.join("f"), b"x").unwrap();
        assert!(confine(&root, "inside/new/deeper.json").is_ok());
        assert!(confine(&root, "new.json").is_ok());
        assert!(confine(&root, "escape/x.json").is_err());
        assert!(confine(&root, "escape/new/x.json").is_err());
        assert!(confine(&root, "file-link").is_err());
    }
}
