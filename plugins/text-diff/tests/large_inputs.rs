//! A pair of texts of more than 10 MB each: the diff matches GNU `diff -u`
//! byte for byte, and progress goes through `read`, `diff` and `render` in
//! order, each stage counting up to its total.

use std::process::Command;

use longrun_text_diff::{MemorySink, Params, Report, Stage, unified_diff};

const DIFF: &str = "/usr/bin/diff";

/// About 12 MB of unique lines; `right` changes, removes and adds a few
/// scattered ones and ends without a newline.
fn texts() -> (Vec<u8>, Vec<u8>) {
    let mut left = String::new();
    let mut right = String::new();
    for n in 0..200_000u32 {
        let line = format!(
            "{n:08} the quick brown fox jumps over the lazy dog {}\n",
            n % 97
        );
        left.push_str(&line);
        match n % 25_013 {
            7 => right.push_str(&format!("{n:08} changed\n")),
            11 => {}
            13 => {
                right.push_str(&line);
                right.push_str("an added line\nand another\n");
            }
            _ => right.push_str(&line),
        }
    }
    right.pop();
    (left.into_bytes(), right.into_bytes())
}

fn gnu_diff(left: &[u8], right: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (left_path, right_path) = (dir.path().join("left"), dir.path().join("right"));
    std::fs::write(&left_path, left).expect("left written");
    std::fs::write(&right_path, right).expect("right written");
    let output = Command::new(DIFF)
        .args(["-u", "--label", "left", "--label", "right"])
        .arg(&left_path)
        .arg(&right_path)
        .output()
        .unwrap_or_else(|error| panic!("this test needs GNU diff at {DIFF}: {error}"));
    assert_eq!(
        output.status.code(),
        Some(1),
        "diff found no difference or failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

#[test]
fn a_large_pair_renders_like_gnu_diff_with_progress_in_stage_order() {
    let (left, right) = texts();
    assert!(left.len() > 10 << 20 && right.len() > 10 << 20);
    let mut sink = MemorySink::default();
    let summary = unified_diff(&left, &right, &Params::default(), &mut sink)
        .unwrap_or_else(|error| panic!("diff failed: {error:?}"));
    assert_eq!(
        summary.hunks, 9,
        "8 scattered and one for the final newline"
    );
    assert_eq!((summary.removed, summary.added), (17, 25));
    assert!(
        sink.output == gnu_diff(&left, &right),
        "the diff differs from GNU diff's:\n{}",
        String::from_utf8_lossy(&sink.output)
    );

    let entered: Vec<Stage> = sink
        .reports
        .iter()
        .filter(|report| report.total == 0)
        .map(|report| report.stage)
        .collect();
    assert_eq!(entered, Stage::ALL);
    let mut stages: Vec<Stage> = sink.reports.iter().map(|report| report.stage).collect();
    stages.dedup();
    assert_eq!(stages, Stage::ALL, "stages in order, each entered once");
    for stage in Stage::ALL {
        let steps: Vec<&Report> = sink
            .reports
            .iter()
            .filter(|report| report.stage == stage && report.total > 0)
            .collect();
        let last = steps
            .last()
            .unwrap_or_else(|| panic!("no progress in {stage:?}"));
        assert_eq!(last.done, last.total, "{stage:?} ends complete");
        assert!(
            steps.windows(2).all(|pair| pair[0].done <= pair[1].done),
            "{stage:?} counts up"
        );
    }
    let read: Vec<&Report> = sink
        .reports
        .iter()
        .filter(|report| report.stage == Stage::Read && report.total > 0)
        .collect();
    assert_eq!(read[0].total, (left.len() + right.len()) as u64);
    assert!(read.len() >= 20, "read reports every MiB: {}", read.len());
}
