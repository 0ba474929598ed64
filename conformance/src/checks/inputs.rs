//! Section 6.2: input values.
//!
//! The checks give the `probe` operation inputs of every kind and read back,
//! with `echoInput`, the bytes and the media type the plugin received; they send
//! malformed input values (400), unknown and missing inputs, invalid base64,
//! media types an operation does not accept, `file` paths outside the input root
//! (422), inputs over their size limit (413, where the limit is small enough to
//! exceed cheaply), and `url` inputs fetched from the suite's receiver, which
//! answers with scripted statuses.
//!
//! Checks that need an operation with a required input or with declared media
//! types look for one in `GET /v1/operations` and skip when there is none.

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::create::{
    SMALL_BODY_BYTES, expect_accepted, expect_problem, jobs_path, same_media_type,
};
use crate::context::Ctx;
use crate::exchange::show_body;
use crate::jobs::Job;
use crate::receiver::Answer;
use crate::{ensure, ensure_should};

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "inputs.kinds",
        title: "json, text and base64 inputs reach the plugin as the stated bytes and default media types",
        class: "core",
        requirements: &["JOB-INPUT-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(kinds(ctx)),
    },
    Check {
        id: "inputs.media-type-override",
        title: "a mediaType member replaces the default media type of every kind; an invalid one is refused",
        class: "core",
        requirements: &["JOB-INPUT-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(media_type_override(ctx)),
    },
    Check {
        id: "inputs.malformed",
        title: "input values that are not objects, have no or several kinds, other members or wrong types are 400",
        class: "core",
        requirements: &["JOB-INPUT-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(malformed(ctx)),
    },
    Check {
        id: "inputs.unknown-name",
        title: "an input name the operation does not declare is 422 invalid-inputs naming it in errors",
        class: "core",
        requirements: &["JOB-INPUT-2", "JOB-INPUT-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(unknown_name(ctx)),
    },
    Check {
        id: "inputs.required",
        title: "omitting a required input is 422 invalid-inputs naming it in errors",
        class: "core",
        requirements: &["JOB-INPUT-3", "JOB-INPUT-4"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(required(ctx)),
    },
    Check {
        id: "inputs.declared-media-types",
        title: "an input's media type must match the operation's declared mediaTypes (case, parameters, wildcards)",
        class: "core",
        requirements: &["JOB-INPUT-7", "JOB-INPUT-4"],
        needs: &["service.document"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(declared_media_types(ctx)),
    },
    Check {
        id: "inputs.invalid-values",
        title: "invalid padded base64 is 422 invalid-inputs; an input over maxBytes or maxInputBytes is 413",
        class: "core",
        requirements: &["JOB-INPUT-8", "JOB-INPUT-9"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(invalid_values(ctx)),
    },
    Check {
        id: "inputs.url",
        title: "a url input is fetched before the answer; its body and type reach the plugin; a failed fetch is 422",
        class: "core",
        requirements: &["JOB-INPUT-10", "JOB-INPUT-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(url(ctx)),
    },
    Check {
        id: "inputs.file-path",
        title: "a file input that is absolute, escapes the input root or names no file is 422 invalid-inputs",
        class: "core",
        requirements: &["JOB-INPUT-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(file_path(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------
// Helpers shared with the other checks of section 6.
// ---------------------------------------------------------------------------

/// Wait for a `probe` job to succeed and return its result bytes and
/// `result.mediaType`; a job that does not succeed breaks `requirement`.
pub(crate) async fn result_of(
    ctx: &Ctx,
    job: &Job,
    requirement: &'static str,
    what: &str,
) -> Result<(bytes::Bytes, String), Finding> {
    let doc = ctx.wait_terminal(&job.url, requirement).await?;
    if doc["status"] != "succeeded" {
        return Err(Finding::violation(
            requirement,
            format!(
                "{what}: the job ended {} instead of succeeding: {}",
                doc["status"], doc["error"]
            ),
        ));
    }
    let media_type = doc["result"]["mediaType"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let response = ctx.get(&format!("{}/result", job.url)).send().await?;
    if response.status != 200 {
        return Err(Finding::error(format!(
            "{what}: GET of the result of a succeeded job answered {}: {}",
            response.status,
            show_body(&response.body)
        )));
    }
    Ok((response.body, media_type))
}

/// Start a `probe` job that echoes input `data` given as `value`, and return
/// the bytes and media type the plugin received.
pub(crate) async fn echo(
    ctx: &Ctx,
    value: &Value,
    requirement: &'static str,
    what: &str,
) -> Result<(bytes::Bytes, String), Finding> {
    let response = ctx
        .start(
            ctx.probe(),
            &json!({"params": {"echoInput": true, "steps": 1}, "inputs": {"data": value}}),
        )
        .await?;
    let job = expect_accepted(ctx, response, requirement, what)?;
    result_of(ctx, &job, requirement, what).await
}

/// Whether `media_type` matches one of `declared` (JOB-INPUT-7): type and
/// subtype case-insensitively, parameters ignored, `type/*` and `*/*`.
pub(crate) fn matches_declared(declared: &[String], media_type: &str) -> bool {
    let essence = |m: &str| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let given = essence(media_type);
    let given_type = given.split('/').next().unwrap_or("").to_owned();
    declared.is_empty()
        || declared.iter().any(|d| {
            let d = essence(d);
            d == "*/*" || d == given || d.strip_suffix("/*") == Some(given_type.as_str())
        })
}

/// A concrete media type that one of `declared` accepts.
pub(crate) fn concrete_media_type(declared: &[String]) -> String {
    match declared.first().map(|d| d.trim().to_ascii_lowercase()) {
        None => "application/octet-stream".to_owned(),
        Some(d) if d.starts_with("*/*") => "application/x-longrun-conformance".to_owned(),
        Some(d) => match d.split(';').next().unwrap_or("").split_once('/') {
            Some((t, "*")) => format!("{t}/x-longrun-conformance"),
            _ => d,
        },
    }
}

/// A media type that none of `declared` accepts, if there is one.
pub(crate) fn mismatching_media_type(declared: &[String]) -> Option<String> {
    [
        "application/x-longrun-conformance",
        "text/x-longrun-conformance",
        "image/x-longrun-conformance",
        "audio/x-longrun-conformance",
    ]
    .into_iter()
    .find(|m| !matches_declared(declared, m))
    .map(str::to_owned)
}

/// An operation object from `GET /v1/operations`.
pub(crate) async fn operations(ctx: &Ctx) -> Result<Vec<Value>, Finding> {
    let response = ctx.get("/v1/operations").send().await?;
    if response.status != 200 {
        return Err(Finding::error(format!(
            "GET /v1/operations answered {}: {}",
            response.status,
            show_body(&response.body)
        )));
    }
    Ok(response
        .json()
        .and_then(|d| d["operations"].as_array().cloned())
        .unwrap_or_default())
}

/// The declared inputs of an operation object.
pub(crate) fn inputs_of(op: &Value) -> Vec<Value> {
    op["inputs"].as_array().cloned().unwrap_or_default()
}

/// The declared `mediaTypes` of an input object.
pub(crate) fn media_types_of(input: &Value) -> Vec<String> {
    input["mediaTypes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect()
}

/// An input value that an input declared like `input` accepts: the bytes `{}`
/// as base64 with an accepted media type.
pub(crate) fn acceptable_value(input: &Value) -> Value {
    json!({"base64": "e30=", "mediaType": concrete_media_type(&media_types_of(input))})
}

/// `inputs` with an acceptable value for every required input of `op`.
pub(crate) fn required_inputs(op: &Value) -> serde_json::Map<String, Value> {
    inputs_of(op)
        .iter()
        .filter(|i| i["required"] == true)
        .filter_map(|i| Some((i["name"].as_str()?.to_owned(), acceptable_value(i))))
        .collect()
}

/// The input names listed in the `errors` of an `invalid-inputs` problem,
/// after checking that every entry has `input` and `message`.
fn error_inputs(problem: &Value, what: &str) -> Result<Vec<String>, Finding> {
    let errors = problem["errors"].as_array().cloned().unwrap_or_default();
    ensure!(
        !errors.is_empty(),
        "JOB-INPUT-4",
        "{what}: the invalid-inputs problem has no non-empty `errors` array: {problem}"
    );
    let mut names = Vec::new();
    for error in &errors {
        ensure!(
            error["input"].is_string() && error["message"].is_string(),
            "JOB-INPUT-4",
            "{what}: an entry of `errors` lacks the string members `input` and `message`: {error}"
        );
        names.push(error["input"].as_str().unwrap_or_default().to_owned());
    }
    Ok(names)
}

// ---------------------------------------------------------------------------
// The checks.
// ---------------------------------------------------------------------------

async fn kinds(ctx: Ctx) -> Outcome {
    let cases: Vec<(Value, Vec<u8>, &str, &str)> = vec![
        (
            json!({"json": {"k": [1, "two", null, true, {"x": 2.5}]}}),
            br#"{"k":[1,"two",null,true,{"x":2.5}]}"#.to_vec(),
            "application/json",
            "a json input",
        ),
        (
            json!({"json": "just a string"}),
            br#""just a string""#.to_vec(),
            "application/json",
            "a json input that is a string",
        ),
        (
            json!({"text": "line one\nline two \u{2713} caf\u{e9}"}),
            "line one\nline two \u{2713} caf\u{e9}".as_bytes().to_vec(),
            "text/plain; charset=utf-8",
            "a text input",
        ),
        (
            json!({"base64": "  AAEC/w==\n"}),
            vec![0, 1, 2, 255],
            "application/octet-stream",
            "a base64 input with surrounding whitespace",
        ),
    ];
    for (value, bytes, media_type, what) in cases {
        let what = format!("{what} ({value})");
        let (got, got_type) = echo(&ctx, &value, "JOB-INPUT-5", &what).await?;
        ensure!(
            got.as_ref() == bytes.as_slice(),
            "JOB-INPUT-5",
            "{what}: the plugin received {:?}, expected {:?}",
            show_body(&got),
            show_body(&bytes)
        );
        ensure!(
            same_media_type(&got_type, media_type),
            "JOB-INPUT-5",
            "{what}: the plugin received the media type {got_type:?}, expected {media_type:?}"
        );
    }
    Ok(())
}

async fn media_type_override(ctx: Ctx) -> Outcome {
    let cases = [
        (
            json!({"json": {"a": 1}, "mediaType": "application/vnd.longrun.test+json"}),
            "application/vnd.longrun.test+json",
        ),
        (
            json!({"text": "# Title", "mediaType": "text/markdown; charset=utf-8"}),
            "text/markdown; charset=utf-8",
        ),
        (
            json!({"base64": "iVBORw==", "mediaType": "image/png"}),
            "image/png",
        ),
    ];
    for (value, media_type) in cases {
        let what = format!("an input with a mediaType ({value})");
        let (_, got) = echo(&ctx, &value, "JOB-INPUT-6", &what).await?;
        ensure!(
            same_media_type(&got, media_type),
            "JOB-INPUT-6",
            "{what}: the plugin received the media type {got:?}, expected {media_type:?}"
        );
    }
    for bad in ["not a media type", "text/", "/plain", ""] {
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": {"text": "x", "mediaType": bad}}}),
            )
            .await?;
        ctx.track_created(&response);
        ensure_should!(
            response.status == 422 && response.problem_kind().as_deref() == Some("invalid-inputs"),
            "JOB-INPUT-6",
            "an input with the mediaType {bad:?}, which is not a media type, was answered {} {}, expected 422 invalid-inputs",
            response.status,
            show_body(&response.body)
        );
    }
    Ok(())
}

async fn malformed(ctx: Ctx) -> Outcome {
    let values: Vec<(Value, &str)> = vec![
        (json!("text"), "a string"),
        (json!(["text", "x"]), "an array"),
        (json!(null), "null"),
        (json!({}), "no kind"),
        (json!({"mediaType": "text/plain"}), "only mediaType"),
        (json!({"text": "a", "base64": "YQ=="}), "two kinds"),
        (
            json!({"text": "a", "conformanceExtra": 1}),
            "an unknown member",
        ),
        (json!({"Text": "a"}), "a kind in the wrong case"),
        (json!({"text": 1}), "text as a number"),
        (json!({"base64": ["YQ=="]}), "base64 as an array"),
        (
            json!({"url": {"href": "https://example.com/"}}),
            "url as an object",
        ),
        (json!({"file": 7}), "file as a number"),
        (
            json!({"text": "a", "mediaType": 5}),
            "mediaType as a number",
        ),
    ];
    for (value, what) in values {
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": value}}),
            )
            .await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-INPUT-1",
            &format!("an input value that is {what} ({value})"),
        )?;
    }
    Ok(())
}

async fn unknown_name(ctx: Ctx) -> Outcome {
    let name = "conformance-no-such-input";
    let response = ctx
        .start(
            ctx.probe(),
            &json!({"params": {"steps": 1}, "inputs": {name: {"text": "x"}}}),
        )
        .await?;
    let what = format!("the undeclared input {name:?}");
    let problem = expect_problem(&ctx, &response, 422, "invalid-inputs", "JOB-INPUT-2", &what)?;
    let names = error_inputs(&problem, &what)?;
    ensure!(
        names.iter().any(|n| n == name),
        "JOB-INPUT-4",
        "{what}: `errors` names {names:?}, not the failing input"
    );

    let both = ["conformance-unknown-a", "conformance-unknown-b"];
    let response = ctx
        .start(
            ctx.probe(),
            &json!({"params": {"steps": 1},
                    "inputs": {both[0]: {"text": "x"}, both[1]: {"text": "y"}}}),
        )
        .await?;
    let what = format!("the undeclared inputs {both:?}");
    let problem = expect_problem(&ctx, &response, 422, "invalid-inputs", "JOB-INPUT-2", &what)?;
    let names = error_inputs(&problem, &what)?;
    ensure_should!(
        both.iter().all(|b| names.iter().any(|n| n == b)),
        "JOB-INPUT-4",
        "{what}: `errors` names {names:?}; it should list every failing input"
    );
    Ok(())
}

async fn required(ctx: Ctx) -> Outcome {
    let ops = operations(&ctx).await?;
    let Some(op) = ops
        .iter()
        .find(|op| inputs_of(op).iter().any(|i| i["required"] == true))
    else {
        return Err(Finding::skip("no operation declares a required input"));
    };
    let name = op["name"].as_str().unwrap_or_default().to_owned();
    let missing: Vec<String> = inputs_of(op)
        .iter()
        .filter(|i| i["required"] == true)
        .filter_map(|i| i["name"].as_str().map(str::to_owned))
        .collect();
    let response = ctx.start(&name, &json!({})).await?;
    let what = format!("a start of {name} without its required inputs {missing:?}");
    let problem = expect_problem(&ctx, &response, 422, "invalid-inputs", "JOB-INPUT-3", &what)?;
    let names = error_inputs(&problem, &what)?;
    ensure!(
        names.iter().any(|n| missing.contains(n)),
        "JOB-INPUT-4",
        "{what}: `errors` names {names:?}, none of the missing inputs"
    );
    ensure_should!(
        missing.iter().all(|m| names.contains(m)),
        "JOB-INPUT-4",
        "{what}: `errors` names {names:?}; it should list every missing input"
    );
    Ok(())
}

async fn declared_media_types(ctx: Ctx) -> Outcome {
    let ops = operations(&ctx).await?;
    let found = ops.iter().find_map(|op| {
        inputs_of(op).into_iter().find_map(|input| {
            let declared = media_types_of(&input);
            let mismatch = mismatching_media_type(&declared)?;
            (!declared.is_empty()).then(|| (op.clone(), input, declared, mismatch))
        })
    });
    let Some((op, input, declared, mismatch)) = found else {
        return Err(Finding::skip(
            "no operation declares an input with mediaTypes that leave some media type out",
        ));
    };
    let op_name = op["name"].as_str().unwrap_or_default().to_owned();
    let input_name = input["name"].as_str().unwrap_or_default().to_owned();
    let with = |value: Value| {
        let mut inputs = required_inputs(&op);
        inputs.insert(input_name.clone(), value);
        json!({ "inputs": inputs })
    };

    // Refused: a media type outside the declared ones, given or by default.
    let mut refused = vec![(
        json!({"base64": "e30=", "mediaType": mismatch}),
        format!("the media type {mismatch:?}"),
    )];
    if !matches_declared(&declared, "text/plain") {
        refused.push((
            json!({"text": "{}"}),
            "a text value (text/plain; charset=utf-8 by default)".to_owned(),
        ));
    }
    for (value, what) in refused {
        let response = ctx.start(&op_name, &with(value)).await?;
        let what = format!(
            "input {input_name:?} of {op_name} (declared mediaTypes {declared:?}) with {what}"
        );
        let problem = expect_problem(&ctx, &response, 422, "invalid-inputs", "JOB-INPUT-7", &what)?;
        let names = error_inputs(&problem, &what)?;
        ensure!(
            names.contains(&input_name),
            "JOB-INPUT-4",
            "{what}: `errors` names {names:?}, not the failing input"
        );
    }

    // Accepted: each declared type in another case and with a parameter, and
    // a subtype of a declared `type/*`.
    let mut accepted: Vec<String> = Vec::new();
    for d in &declared {
        let essence = d.split(';').next().unwrap_or("").trim();
        match essence.split_once('/') {
            Some(("*", "*")) => accepted.push("Application/X-Longrun-Conformance".into()),
            Some((t, "*")) => accepted.push(format!("{}/X-Longrun-Conformance", t.to_uppercase())),
            Some(_) => accepted.push(format!("{}; charset=utf-8", essence.to_uppercase())),
            None => {}
        }
    }
    for media_type in accepted {
        let response = ctx
            .start(
                &op_name,
                &with(json!({"base64": "e30=", "mediaType": media_type})),
            )
            .await?;
        ctx.track_created(&response);
        ensure!(
            !(response.status == 422
                && response.problem_kind().as_deref() == Some("invalid-inputs")),
            "JOB-INPUT-7",
            "input {input_name:?} of {op_name} (declared mediaTypes {declared:?}) with the media type {media_type:?} was refused: {}",
            show_body(&response.body)
        );
        if response.status == 202 {
            // Let the job end before the next one, so that one job runs at once.
            if let Some(location) = response.header("location") {
                ctx.wait_terminal(location, "JOB-INPUT-7").await?;
            }
        }
    }
    Ok(())
}

async fn invalid_values(ctx: Ctx) -> Outcome {
    for (value, what) in [
        ("YQ", "missing padding"),
        ("YQ=", "short padding"),
        ("Y$==", "a character outside the alphabet"),
        ("-_8=", "the URL-safe alphabet"),
        ("Y Q==", "whitespace inside"),
        ("YQ==YQ==", "padding in the middle"),
    ] {
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": {"base64": value}}}),
            )
            .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-INPUT-8",
            &format!("the base64 value {value:?} ({what})"),
        )?;
    }
    let response = ctx
        .start(
            ctx.probe(),
            &json!({"params": {"steps": 1}, "inputs": {"data": {"base64": "\n YWJj \t"}}}),
        )
        .await?;
    expect_accepted(
        &ctx,
        response,
        "JOB-INPUT-8",
        "valid base64 with surrounding whitespace",
    )?;
    too_large(&ctx).await
}

/// JOB-INPUT-9, where it can be reached cheaply: an input that declares a
/// small `maxBytes`, and `limits.maxInputBytes` when it is small and a body
/// with an input one byte larger still fits into `limits.maxBodyBytes`.
async fn too_large(ctx: &Ctx) -> Outcome {
    let ops = operations(ctx).await?;
    let declared = ops.iter().find_map(|op| {
        inputs_of(op).into_iter().find_map(|input| {
            let max = input["maxBytes"].as_u64()?;
            (max < SMALL_BODY_BYTES).then(|| (op.clone(), input, max))
        })
    });
    if let Some((op, input, max)) = declared {
        let op_name = op["name"].as_str().unwrap_or_default().to_owned();
        let input_name = input["name"].as_str().unwrap_or_default().to_owned();
        let mut inputs = required_inputs(&op);
        let media_type = concrete_media_type(&media_types_of(&input));
        inputs.insert(
            input_name.clone(),
            json!({"text": " ".repeat(max as usize + 1), "mediaType": media_type}),
        );
        let response = ctx.start(&op_name, &json!({ "inputs": inputs })).await?;
        expect_problem(
            ctx,
            &response,
            413,
            "payload-too-large",
            "JOB-INPUT-9",
            &format!(
                "input {input_name:?} of {op_name} with {} bytes (its maxBytes is {max})",
                max + 1
            ),
        )?;
    }

    let max = ctx.limits().max_input_bytes;
    if max > SMALL_BODY_BYTES || max + 1024 > ctx.limits().max_body_bytes {
        return Ok(());
    }
    let mut body = br#"{"params": {"steps": 1}, "inputs": {"data": {"text": ""#.to_vec();
    body.resize(body.len() + max as usize + 1, b'a');
    body.extend_from_slice(br#""}}}"#);
    let response = ctx
        .request(reqwest::Method::POST, &jobs_path(ctx.probe()))
        .body("application/json", body)
        .send()
        .await?;
    expect_problem(
        ctx,
        &response,
        413,
        "payload-too-large",
        "JOB-INPUT-9",
        &format!(
            "a text input of {} bytes (limits.maxInputBytes + 1)",
            max + 1
        ),
    )?;
    Ok(())
}

async fn url(ctx: Ctx) -> Outcome {
    // The receiver answers 200 with an empty body and no Content-Type.
    let ok = ctx.callback_endpoint(vec![Answer::Status(200)])?;
    let response = ctx
        .start(
            ctx.probe(),
            &json!({"params": {"echoInput": true, "steps": 1}, "inputs": {"data": {"url": ok.url}}}),
        )
        .await?;
    if response.problem_kind().as_deref() == Some("url-not-allowed") {
        return Err(Finding::skip(format!(
            "the server refuses the receiver's URL {} (url-not-allowed); allow private networks or give --callback-url a public address",
            ok.url
        )));
    }
    let fetched_before = ok.attempts().len();
    let job = expect_accepted(&ctx, response, "JOB-INPUT-5", "a url input")?;
    ensure!(
        fetched_before >= 1,
        "JOB-INPUT-10",
        "the server answered the start request before it fetched the url input {}",
        ok.url
    );
    let (bytes, media_type) = result_of(&ctx, &job, "JOB-INPUT-5", "a url input").await?;
    ensure!(
        bytes.is_empty(),
        "JOB-INPUT-5",
        "the url input's answer had an empty body, the plugin received {:?}",
        show_body(&bytes)
    );
    ensure!(
        same_media_type(&media_type, "application/octet-stream"),
        "JOB-INPUT-5",
        "the url input's answer had no Content-Type, the plugin received the media type {media_type:?}, expected application/octet-stream"
    );

    for status in [500u16, 404, 302, 301] {
        let endpoint = ctx.callback_endpoint(vec![Answer::Status(status)])?;
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": {"url": endpoint.url}}}),
            )
            .await?;
        let what = format!("a url input whose fetch is answered {status}");
        let problem = expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-INPUT-10",
            &what,
        )?;
        ensure!(
            !endpoint.attempts().is_empty(),
            "JOB-INPUT-10",
            "{what}: the server refused it without fetching the URL: {problem}"
        );
    }
    if ctx.server().private_networks_allowed == Some(true) {
        // Nothing listens on port 1 of the server's own loopback address.
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": {"url": "http://127.0.0.1:1/none"}}}),
            )
            .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-INPUT-10",
            "a url input whose fetch meets a connection error (http://127.0.0.1:1/, private networks allowed)",
        )?;
    }
    Ok(())
}

async fn file_path(ctx: Ctx) -> Outcome {
    let missing = format!("longrun-conformance-missing-{}.txt", uuid::Uuid::now_v7());
    for (path, what) in [
        ("/etc/hosts".to_owned(), "an absolute path"),
        (
            "../longrun-conformance.txt".to_owned(),
            "a path starting with ..",
        ),
        (
            "data/../../longrun-conformance.txt".to_owned(),
            "a path that climbs out of the root through ..",
        ),
        (missing, "a path that names no file"),
    ] {
        let response = ctx
            .start(
                ctx.probe(),
                &json!({"params": {"steps": 1}, "inputs": {"data": {"file": path}}}),
            )
            .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-INPUT-11",
            &format!("a file input with {what} ({path:?})"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_matching() {
        let json = vec!["application/json".to_owned()];
        assert!(matches_declared(&json, "Application/JSON; charset=utf-8"));
        assert!(!matches_declared(&json, "text/plain"));
        assert!(matches_declared(&["text/*".into()], "text/csv"));
        assert!(!matches_declared(&["text/*".into()], "image/png"));
        assert!(matches_declared(&["*/*".into()], "image/png"));
        assert_eq!(
            mismatching_media_type(&json).as_deref(),
            Some("application/x-longrun-conformance")
        );
        assert_eq!(mismatching_media_type(&["*/*".into()]), None);
        assert_eq!(
            concrete_media_type(&["text/*".into()]),
            "text/x-longrun-conformance"
        );
    }
}
