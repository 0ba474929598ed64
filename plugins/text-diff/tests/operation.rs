//! The operation through the guest SDK's native harness: its description,
//! params errors, progress by stage, cancellation and the result.

use longrun_plugin::testing::{Harness, TestRun};
use longrun_plugin::{LogLevel, Operation};
use longrun_text_diff::operation::{NAME, RESULT_MEDIA_TYPE};
use longrun_text_diff::{PARAMS_SCHEMA, Params, TextDiff, diff_bytes};

fn run(params: &str, left: &[u8], right: &[u8]) -> TestRun {
    Harness::new(params)
        .input("left", "text/plain", left.to_vec())
        .input("right", "text/plain", right.to_vec())
        .run::<TextDiff>()
}

/// `lines` numbered lines, with every `every`th one changed when `changed`.
fn numbered(lines: usize, changed: bool, every: usize) -> Vec<u8> {
    (0..lines)
        .map(|n| {
            if changed && n % every == every / 2 {
                format!("line {n} was changed\n")
            } else {
                format!("line {n}\n")
            }
        })
        .collect::<String>()
        .into_bytes()
}

#[test]
fn describes_itself() {
    let description = TextDiff::describe();
    assert_eq!(description.name(), NAME);
    assert_eq!(
        description.stages(),
        [
            ("read".into(), 45),
            ("diff".into(), 10),
            ("render".into(), 45)
        ]
    );
    let inputs: Vec<(&str, bool)> = description
        .inputs()
        .iter()
        .map(|input| (input.name(), input.is_required()))
        .collect();
    assert_eq!(inputs, [("left", true), ("right", true)]);
    assert_eq!(RESULT_MEDIA_TYPE, "text/x-diff");
    let schema: serde_json::Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn diffs_with_the_params_given() {
    let done = run(
        r#"{"context": 1, "leftLabel": "a/f.txt", "rightLabel": "b/f.txt"}"#,
        b"1\n2\n3\n4\n",
        b"1\n2\nthree\n4\n",
    );
    assert_eq!(
        String::from_utf8(done.result.unwrap()).unwrap(),
        "--- a/f.txt\n+++ b/f.txt\n@@ -2,3 +2,3 @@\n 2\n-3\n+three\n 4\n"
    );
    let (level, message) = done.log.last().expect("a summary in the log");
    assert_eq!(*level, LogLevel::Info);
    assert!(
        message.contains("hunks: 1, lines removed: 1, lines added: 1"),
        "{message}"
    );
}

#[test]
fn bad_params_are_invalid_params() {
    for (params, needle) in [
        (r#"{"context": 10001}"#, "from 0 to 10000"),
        (r#"{"context": -3}"#, "got -3"),
        (r#"{"context": 1.5}"#, "expected i64"),
        (r#"{"leftLabel": "two\nlines"}"#, "one line"),
        (r#"{"rightLabel": 7}"#, "expected a string"),
        (r#"{"unknown": true}"#, "unknown field `unknown`"),
        ("[]", "object"),
        ("[3]", "object"),
        ("true", "object"),
    ] {
        let error = run(params, b"a\n", b"b\n").result.unwrap_err();
        assert_eq!(error.code(), "invalid-params", "{params}: {error}");
        assert!(error.message().contains(needle), "{params}: {error}");
    }
}

#[test]
fn identical_inputs_give_an_empty_result_after_all_stages() {
    let text = numbered(1000, false, 1);
    let done = run("{}", &text, &text);
    assert_eq!(done.result.as_deref(), Ok(&b""[..]));
    assert_eq!(done.stages(), ["read", "diff", "render"]);
    assert_eq!(done.percents().last().copied(), Some(100.0));
    assert!(done.log.iter().any(|(_, line)| line.contains("equal")));
}

#[test]
fn progress_goes_through_the_stages_in_order_and_up_to_100() {
    let left = numbered(60_000, false, 1);
    let right = numbered(60_000, true, 7);
    let done = run(r#"{"context": 2}"#, &left, &right);
    let expected = diff_bytes(
        &left,
        &right,
        &Params {
            context: 2,
            ..Params::default()
        },
    )
    .unwrap();
    assert_eq!(done.result.as_deref(), Ok(&expected[..]));
    assert_eq!(done.stages(), ["read", "diff", "render"]);
    let percents = done.percents();
    assert!(
        percents.windows(2).all(|pair| pair[0] <= pair[1]),
        "{percents:?}"
    );
    assert_eq!(percents.last().copied(), Some(100.0));
    // Each stage reports on its way, not only at its start.
    let read = done
        .progress
        .iter()
        .filter(|report| report.stage.as_deref() == Some("read"))
        .count();
    let render = done
        .progress
        .iter()
        .filter(|report| report.stage.as_deref() == Some("render"))
        .count();
    assert!(
        read > 2 && render > 2,
        "read {read}, render {render} reports"
    );
}

#[test]
fn inputs_are_read_in_pieces_of_at_most_one_mib() {
    let left = numbered(300_000, false, 1);
    let right = numbered(300_000, true, 1000);
    assert!(left.len() > 3 << 20);
    let done = run("{}", &left, &right);
    assert!(done.result.is_ok());
    assert!(
        done.largest_read <= 1 << 20,
        "read {} bytes at once",
        done.largest_read
    );
}

#[test]
fn a_canceled_job_stops_promptly() {
    let left = numbered(300_000, false, 1);
    let right = numbered(300_000, true, 3);
    for after in [1, 3, 20] {
        let done = Harness::new("{}")
            .input("left", "text/plain", left.clone())
            .input("right", "text/plain", right.clone())
            .cancel_after(after)
            .run::<TextDiff>();
        let error = done.result.unwrap_err();
        assert!(error.is_canceled(), "{error}");
        assert_eq!(done.progress.len(), after, "reports after the cancel");
    }
}

#[test]
fn a_missing_input_is_invalid_input() {
    let done = Harness::new("{}")
        .input("left", "text/plain", b"a\n".to_vec())
        .run::<TextDiff>();
    let error = done.result.unwrap_err();
    assert_eq!(error.code(), "invalid-input");
    assert!(error.message().contains("`right`"), "{error}");
}

#[test]
fn short_reads_from_the_host_are_retried() {
    let left = numbered(2000, false, 1);
    let right = numbered(2000, true, 50);
    let done = Harness::new("{}")
        .input("left", "text/plain", left.clone())
        .input("right", "text/plain", right.clone())
        .max_read(1000)
        .run::<TextDiff>();
    assert_eq!(
        done.result.unwrap(),
        diff_bytes(&left, &right, &Params::default()).unwrap()
    );
}
