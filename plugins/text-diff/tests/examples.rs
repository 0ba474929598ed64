//! The diff of small texts, byte for byte as GNU `diff -u --label left --label
//! right` (diffutils 3.8) prints it.

use longrun_text_diff::{Params, diff_bytes};

fn diff(left: &str, right: &str, params: &Params) -> String {
    let out =
        diff_bytes(left.as_bytes(), right.as_bytes(), params).unwrap_or_else(|error| match error {
            longrun_text_diff::DiffError::Host(never) => match never {},
            other => panic!("diff failed: {other}"),
        });
    String::from_utf8(out).expect("the inputs are UTF-8, so is the diff")
}

fn context(lines: usize) -> Params {
    Params {
        context: lines,
        ..Params::default()
    }
}

const LETTERS: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm\n";
const LETTERS_CHANGED: &str = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\nl\nm\nn\n";

#[test]
fn equal_texts_give_nothing() {
    assert_eq!(diff("", "", &Params::default()), "");
    assert_eq!(diff(LETTERS, LETTERS, &Params::default()), "");
    assert_eq!(diff("no newline", "no newline", &context(0)), "");
}

#[test]
fn two_hunks_with_default_context() {
    assert_eq!(
        diff(LETTERS, LETTERS_CHANGED, &Params::default()),
        "--- left\n+++ right\n\
         @@ -1,7 +1,7 @@\n a\n b\n c\n-d\n+D\n e\n f\n g\n\
         @@ -11,3 +11,4 @@\n k\n l\n m\n+n\n"
    );
}

#[test]
fn labels_and_one_line_of_context() {
    let params = Params {
        context: 1,
        left_label: "a/x".into(),
        right_label: "b/x".into(),
    };
    assert_eq!(
        diff(LETTERS, LETTERS_CHANGED, &params),
        "--- a/x\n+++ b/x\n@@ -3,3 +3,3 @@\n c\n-d\n+D\n e\n@@ -13 +13,2 @@\n m\n+n\n"
    );
}

#[test]
fn no_context() {
    assert_eq!(
        diff(LETTERS, LETTERS_CHANGED, &context(0)),
        "--- left\n+++ right\n@@ -4 +4 @@\n-d\n+D\n@@ -13,0 +14 @@\n+n\n"
    );
}

#[test]
fn hunks_merge_when_at_most_twice_the_context_apart() {
    let left: String = (1..=20).map(|n| format!("{n}\n")).collect();
    let right = left
        .replace("\n4\n", "\nfour\n")
        .replace("\n11\n", "\neleven\n")
        .replace("\n19\n", "\nnineteen\n");
    assert_eq!(
        diff(&left, &right, &Params::default()),
        "--- left\n+++ right\n\
         @@ -1,14 +1,14 @@\n 1\n 2\n 3\n-4\n+four\n 5\n 6\n 7\n 8\n 9\n 10\n-11\n+eleven\n 12\n 13\n 14\n\
         @@ -16,5 +16,5 @@\n 16\n 17\n 18\n-19\n+nineteen\n 20\n"
    );
}

#[test]
fn missing_final_newlines_are_marked() {
    assert_eq!(
        diff("one\ntwo", "one\ntwo\n", &Params::default()),
        "--- left\n+++ right\n@@ -1,2 +1,2 @@\n one\n-two\n\\ No newline at end of file\n+two\n"
    );
    assert_eq!(
        diff("x\ny", "x\nz", &Params::default()),
        "--- left\n+++ right\n@@ -1,2 +1,2 @@\n x\n-y\n\\ No newline at end of file\n\
         +z\n\\ No newline at end of file\n"
    );
    assert_eq!(
        diff("a\nend", "b\nend", &Params::default()),
        "--- left\n+++ right\n@@ -1,2 +1,2 @@\n-a\n+b\n end\n\\ No newline at end of file\n"
    );
}

#[test]
fn empty_texts_on_either_side() {
    assert_eq!(
        diff("", "one\ntwo\n", &Params::default()),
        "--- left\n+++ right\n@@ -0,0 +1,2 @@\n+one\n+two\n"
    );
    assert_eq!(
        diff("one\ntwo", "", &Params::default()),
        "--- left\n+++ right\n@@ -1,2 +0,0 @@\n-one\n-two\n\\ No newline at end of file\n"
    );
}

#[test]
fn crlf_lines_keep_their_carriage_return() {
    assert_eq!(
        diff("a\r\nb\r\n", "a\r\nb\n", &Params::default()),
        "--- left\n+++ right\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+b\n"
    );
}
