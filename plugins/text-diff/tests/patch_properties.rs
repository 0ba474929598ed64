//! Property tests: GNU patch, applying the diff to `left`, gives `right` — for
//! texts that share lines, with and without a final newline, empty, with CRLF
//! lines, multi-byte UTF-8 and arbitrary bytes, at several context sizes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use longrun_text_diff::{DiffError, Params, diff_bytes};
use proptest::prelude::*;
use proptest::sample::select;

const PATCH: &str = "/usr/bin/patch";

/// Fails with a clear message unless GNU patch runs.
fn require_patch() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let output = Command::new(PATCH)
            .arg("--version")
            .output()
            .map_err(|error| format!("these tests need GNU patch at {PATCH}: {error}"))?;
        let version = String::from_utf8_lossy(&output.stdout);
        if output.status.success() && version.contains("GNU patch") {
            Ok(())
        } else {
            Err(format!(
                "these tests need GNU patch at {PATCH}; `patch --version` said: {version}"
            ))
        }
    });
    if let Err(message) = checked {
        panic!("{message}");
    }
}

/// Applies `diff` to `left` with GNU patch and returns the patched text.
fn apply(left: &[u8], diff: &[u8]) -> Result<Vec<u8>, String> {
    require_patch();
    let dir = tempfile::tempdir().map_err(|error| format!("no temp dir: {error}"))?;
    let left_path = dir.path().join("left");
    let out_path = dir.path().join("out");
    std::fs::write(&left_path, left).map_err(|error| format!("cannot write left: {error}"))?;
    let mut child = Command::new(PATCH)
        .args(["-f", "-s", "--no-backup-if-mismatch", "-r"])
        .arg(dir.path().join("rejects"))
        .arg("-o")
        .arg(&out_path)
        .arg(&left_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {PATCH}: {error}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin for patch")?;
    stdin
        .write_all(diff)
        .map_err(|error| format!("cannot feed patch: {error}"))?;
    drop(stdin);
    let output = child
        .wait_with_output()
        .map_err(|error| format!("patch did not finish: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "patch failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    read_patched(&out_path)
}

fn read_patched(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        // patch leaves no output file when the result is empty.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(format!("cannot read the patched text: {error}")),
    }
}

fn diff(left: &[u8], right: &[u8], context: usize) -> Vec<u8> {
    let params = Params {
        context,
        ..Params::default()
    };
    diff_bytes(left, right, &params).unwrap_or_else(|error| match error {
        DiffError::Host(never) => match never {},
        other => panic!("diff failed: {other}"),
    })
}

/// One line, `\n` included: mostly from a small pool so texts share lines.
fn line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => select(vec!["a", "b", "c", "", " a", "-b", "+c", "\\ x", "a\r", "b\r", "héllo", "日本", "@@ -1 +1 @@"])
            .prop_map(|text| format!("{text}\n").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(|mut bytes| {
            bytes.retain(|&byte| byte != b'\n');
            bytes.push(b'\n');
            bytes
        }),
    ]
}

/// A text: some lines, the last one perhaps without its `\n`.
fn text() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..24), any::<bool>()).prop_map(|(lines, cut)| {
        let mut text = lines.concat();
        if cut {
            text.pop();
        }
        text
    })
}

/// An edit of a list of lines: at `at` (modulo the length), remove `remove`
/// lines and insert `insert`.
fn edits() -> impl Strategy<Value = Vec<(usize, usize, Vec<Vec<u8>>)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            0usize..4,
            prop::collection::vec(line(), 0..3),
        ),
        0..5,
    )
}

fn split_lines(text: &[u8]) -> Vec<Vec<u8>> {
    text.split_inclusive(|&byte| byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

/// A pair of texts: unrelated, or the second an edit of the first.
fn pair() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop_oneof![
        (text(), text()),
        (text(), edits(), any::<bool>()).prop_map(|(left, edits, cut)| {
            let mut lines = split_lines(&left);
            for (at, remove, insert) in edits {
                let at = at % (lines.len() + 1);
                let end = (at + remove).min(lines.len());
                lines.splice(at..end, insert);
            }
            let mut right = lines.concat();
            if cut && right.ends_with(b"\n") {
                right.pop();
            } else if !right.ends_with(b"\n") && !right.is_empty() && !cut {
                right.push(b'\n');
            }
            (left, right)
        }),
    ]
}

fn assert_patches(left: &[u8], right: &[u8], context: usize) -> Result<(), TestCaseError> {
    let diff = diff(left, right, context);
    if left == right {
        prop_assert!(diff.is_empty(), "equal texts gave a diff");
        return Ok(());
    }
    prop_assert!(!diff.is_empty(), "different texts gave no diff");
    let patched = apply(left, &diff).map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        &patched,
        right,
        "patch gave the wrong text; diff:\n{}",
        String::from_utf8_lossy(&diff)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn patch_turns_left_into_right((left, right) in pair(), context in 0usize..5) {
        assert_patches(&left, &right, context)?;
    }

    #[test]
    fn patch_works_with_no_and_large_context((left, right) in pair()) {
        assert_patches(&left, &right, 0)?;
        assert_patches(&left, &right, 10_000)?;
    }

    #[test]
    fn arbitrary_bytes_patch_too(
        left in prop::collection::vec(prop_oneof![4 => any::<u8>(), 1 => Just(b'\n')], 0..200),
        right in prop::collection::vec(prop_oneof![4 => any::<u8>(), 1 => Just(b'\n')], 0..200),
        context in 0usize..4,
    ) {
        assert_patches(&left, &right, context)?;
    }
}

#[test]
fn patch_is_required_and_runs() {
    require_patch();
}

#[test]
fn the_harness_sees_patch_fail_and_succeed() {
    let wrong = b"--- left\n+++ right\n@@ -1 +1 @@\n-z\n+b\n";
    assert!(
        apply(b"a\n", wrong).is_err(),
        "a hunk that does not match applied"
    );
    let right = apply(b"a\n", b"--- left\n+++ right\n@@ -1 +1 @@\n-a\n+b\n");
    assert_eq!(right.as_deref(), Ok(&b"b\n"[..]));
}
