//! Whole runs of the operation through the SDK's native test harness: params,
//! inputs, errors, progress by stage, and cancellation.

use longrun_json_merge::JsonMerge;
use longrun_plugin::testing::{Harness, TestRun};
use serde_json::{Value, json};

const JSON: &str = "application/json";

/// A run of `params` with the inputs `(name, document text)`.
fn run(params: &str, inputs: &[(&str, &str)]) -> TestRun {
    inputs
        .iter()
        .fold(Harness::new(params), |harness, (name, text)| {
            harness.input(*name, JSON, text.as_bytes().to_vec())
        })
        .run::<JsonMerge>()
}

fn result(done: &TestRun) -> Value {
    let bytes = done.result.as_ref().expect("the run succeeds");
    serde_json::from_slice(bytes).expect("the result is JSON")
}

fn error(done: &TestRun) -> (&str, &str) {
    let error = done.result.as_ref().expect_err("the run fails");
    (error.code(), error.message())
}

/// An object with `count` members, each `value`.
fn wide(count: usize, value: i64) -> String {
    let members: serde_json::Map<String, Value> = (0..count)
        .map(|index| (format!("k{index:03}"), json!({ "v": value, "keep": index })))
        .collect();
    Value::Object(members).to_string()
}

#[test]
fn a_clean_merge_renders_the_result() {
    let done = run(
        "{}",
        &[
            ("ancestor", r#"{"a": 1, "b": {"c": null}}"#),
            ("version-1", r#"{"a": 2, "b": {"c": null}}"#),
            ("version-2", r#"{"a": 1, "b": {}}"#),
            ("version-3", r#"{"a": 1, "b": {"c": null}, "d": []}"#),
        ],
    );
    assert_eq!(
        result(&done),
        json!({"merged": {"a": 2, "b": {}, "d": []}, "clean": true, "conflicts": []})
    );
}

#[test]
fn progress_goes_through_the_three_stages_in_order_to_the_end() {
    let big = wide(5000, 1);
    let done = run(
        "{}",
        &[
            ("ancestor", &big),
            ("version-1", &big),
            ("version-2", &wide(5000, 2)),
        ],
    );
    assert!(done.result.is_ok());
    assert_eq!(done.stages(), ["parse", "merge", "render"]);
    let percents = done.percents();
    assert!(
        percents.windows(2).all(|pair| pair[0] <= pair[1]),
        "{percents:?}"
    );
    assert_eq!(percents.last(), Some(&100.0));
    // Real progress within the stages, not just their starts.
    let in_stage = |stage: &str| {
        done.progress
            .iter()
            .filter(|report| report.stage.as_deref() == Some(stage))
            .count()
    };
    assert!(in_stage("parse") > 3, "{:?}", done.progress);
    assert!(in_stage("merge") > 10, "{:?}", done.progress);
    // The inputs are streamed in pieces, never asked for whole.
    assert!(done.largest_read <= 1 << 20, "{}", done.largest_read);
}

#[test]
fn conflicts_are_reported_and_resolved_as_asked() {
    let inputs = [
        ("ancestor", r#"{"a": 1, "b": 1}"#),
        ("version-1", r#"{"a": 2, "b": 1}"#),
        ("version-2", r#"{"b": 1}"#),
    ];
    let conflicts = json!([{
        "pointer": "/a",
        "ancestor": {"value": 1},
        "versions": [
            {"version": 1, "changed": true, "value": 2},
            {"version": 2, "changed": true, "absent": true}
        ]
    }]);
    for (params, merged) in [
        ("{}", json!({"a": 1, "b": 1})),
        (r#"{"onConflict": "ancestor"}"#, json!({"a": 1, "b": 1})),
        (r#"{"onConflict": "first"}"#, json!({"a": 2, "b": 1})),
    ] {
        let done = run(params, &inputs);
        assert_eq!(
            result(&done),
            json!({"merged": merged, "clean": false, "conflicts": conflicts}),
            "{params}"
        );
        assert!(
            done.log.iter().any(|(_, line)| line.contains(r#""/a""#)),
            "{:?}",
            done.log
        );
    }
}

#[test]
fn fail_on_conflict_lists_twenty_pointers_then_counts_the_rest() {
    let done = run(
        r#"{"onConflict": "fail"}"#,
        &[
            ("ancestor", &wide(25, 0)),
            ("version-1", &wide(25, 1)),
            ("version-2", &wide(25, 2)),
        ],
    );
    let (code, message) = error(&done);
    assert_eq!(code, "merge-conflict");
    assert!(message.contains("25 locations"), "{message}");
    assert!(message.contains(r#""/k000/v", "/k001/v""#), "{message}");
    assert!(message.contains(r#""/k019/v", and 5 more"#), "{message}");
    assert!(!message.contains("/k020/v"), "{message}");
    assert_eq!(done.stages(), ["parse", "merge"]);

    // Without conflicts, `fail` merges as usual.
    let done = run(
        r#"{"onConflict": "fail"}"#,
        &[
            ("ancestor", "[1]"),
            ("version-1", "[2]"),
            ("version-2", "[1]"),
        ],
    );
    assert_eq!(result(&done)["merged"], json!([2]));
}

#[test]
fn params_that_do_not_fit_are_invalid_params() {
    let inputs = [("ancestor", "{}"), ("version-1", "{}"), ("version-2", "{}")];
    for params in [
        r#"{"onConflict": "last"}"#,
        r#"{"onConflict": 1}"#,
        r#"{"onconflict": "first"}"#,
        r#"{"extra": true}"#,
        "[]",
        r#"["first"]"#,
        "{",
    ] {
        let done = run(params, &inputs);
        let (code, message) = error(&done);
        assert_eq!(code, "invalid-params", "{params}: {message}");
        assert!(done.progress.is_empty(), "{params}");
    }
}

#[test]
fn invalid_json_names_the_input_and_where_it_goes_wrong() {
    let done = run(
        "{}",
        &[
            ("ancestor", "{}"),
            ("version-1", "{}"),
            ("version-2", "{\n  \"a\": 1,\n  \"b\": ]\n}"),
        ],
    );
    let (code, message) = error(&done);
    assert_eq!(code, "invalid-input");
    assert!(message.contains("`version-2`"), "{message}");
    assert!(message.contains("line 3 column 8"), "{message}");

    for (text, wrong) in [
        ("", "EOF"),
        ("{} {}", "trailing characters"),
        ("[1,]", "trailing comma"),
        ("nul", "EOF"),
    ] {
        let done = run(
            "{}",
            &[("ancestor", text), ("version-1", "{}"), ("version-2", "{}")],
        );
        let (code, message) = error(&done);
        assert_eq!(code, "invalid-input", "{text:?}");
        assert!(
            message.contains("`ancestor`") && message.contains(wrong),
            "{message}"
        );
    }
}

#[test]
fn a_missing_required_version_is_invalid_input() {
    let done = run(
        "{}",
        &[("ancestor", "{}"), ("version-1", "{}"), ("version-3", "{}")],
    );
    let (code, message) = error(&done);
    assert_eq!(code, "invalid-input");
    assert!(message.contains("`version-2`"), "{message}");
}

#[test]
fn conflicts_name_versions_by_their_input_numbers() {
    let done = run(
        "{}",
        &[
            ("ancestor", "0"),
            ("version-5", "5"),
            ("version-1", "0"),
            ("version-2", "2"),
        ],
    );
    let result = result(&done);
    let numbers: Vec<Option<u64>> = result["conflicts"][0]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|side| side["version"].as_u64())
        .collect();
    assert_eq!(numbers, [Some(1), Some(2), Some(5)]);
}

#[test]
fn a_cancel_during_the_merge_stops_the_run() {
    let inputs = [
        ("ancestor", wide(5000, 0)),
        ("version-1", wide(5000, 1)),
        ("version-2", wide(5000, 0)),
    ];
    let harness = || {
        inputs
            .iter()
            .fold(Harness::new("{}"), |harness, (name, text)| {
                harness.input(*name, JSON, text.as_bytes().to_vec())
            })
    };
    let whole = harness().run::<JsonMerge>();
    let entered = whole
        .progress
        .iter()
        .position(|report| report.stage.as_deref() == Some("merge"))
        .expect("the merge stage is reported");
    let cancelled = harness().cancel_after(entered + 3).run::<JsonMerge>();
    let error = cancelled.result.as_ref().expect_err("the run stops");
    assert!(error.is_canceled(), "{error}");
    assert_eq!(cancelled.stages(), ["parse", "merge"]);
    assert_eq!(cancelled.progress.len(), entered + 3);

    let during_parse = harness().cancel_after(2).run::<JsonMerge>();
    assert!(during_parse.result.as_ref().is_err_and(|e| e.is_canceled()));
    assert_eq!(during_parse.stages(), ["parse"]);
    assert_eq!(during_parse.progress.len(), 2);
}
