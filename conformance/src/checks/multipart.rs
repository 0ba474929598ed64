//! Section 6.4: starting a job with a `multipart/form-data` body (class
//! `multipart`).
//!
//! The checks build the forms themselves, byte by byte, so that they can also
//! send broken ones: no boundary, no closing delimiter, parts without a name,
//! unknown and repeated parts, fields whose text does not parse. They read back,
//! with the `probe` operation's `echoInput`, the bytes and the media type an
//! input part delivers, and compare a multipart start with the equivalent JSON
//! start: the same validation, the same result and, with `idempotency`, the
//! same request.

use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::checks::create::{expect_accepted, expect_problem, post_raw, same_media_type, unique};
use crate::checks::inputs::{
    inputs_of, media_types_of, mismatching_media_type, operations, required_inputs, result_of,
};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;

/// The checks of this area.
pub const CHECKS: &[Check] = &[
    Check {
        id: "multipart.malformed",
        title: "a multipart body without boundary, that does not parse, or with a nameless part is 400",
        class: "multipart",
        requirements: &["JOB-MULTIPART-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(malformed(ctx)),
    },
    Check {
        id: "multipart.input-parts",
        title: "an input part delivers its body with its Content-Type (else application/octet-stream), ignoring filename",
        class: "multipart",
        requirements: &["JOB-MULTIPART-2"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(input_parts(ctx)),
    },
    Check {
        id: "multipart.fields",
        title: "the form fields params, ttlSeconds, timeoutSeconds and correlationId apply; fields that do not parse are 400",
        class: "multipart",
        requirements: &["JOB-MULTIPART-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(fields(ctx)),
    },
    Check {
        id: "multipart.unknown-and-repeated-parts",
        title: "unknown part names and repeated names are 400; a callback part follows JOB-CREATE-11",
        class: "multipart",
        requirements: &["JOB-MULTIPART-4", "JOB-MULTIPART-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(unknown_and_repeated(ctx)),
    },
    Check {
        id: "multipart.same-as-json",
        title: "a multipart start is validated and executed exactly as the JSON start with the same inputs and fields",
        class: "multipart",
        requirements: &["JOB-MULTIPART-5", "JOB-CREATE-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 2,
        exclusive: false,
        run: |ctx| Box::pin(same_as_json(ctx)),
    },
];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The boundary of the forms the checks build.
const BOUNDARY: &str = "longrun-conformance-7MA4YWxkTrZu0gW";

/// One part of a form.
#[derive(Debug, Clone, Default)]
struct Part {
    /// The `name` of `Content-Disposition` (none: a part without a name).
    name: Option<String>,
    /// The `filename` of `Content-Disposition`.
    filename: Option<String>,
    /// The part's `Content-Type`.
    content_type: Option<String>,
    /// Whether the part has no `Content-Disposition` header at all.
    no_disposition: bool,
    /// The body.
    body: Vec<u8>,
}

impl Part {
    /// A form field.
    fn field(name: &str, text: impl Into<String>) -> Part {
        Part {
            name: Some(name.to_owned()),
            body: text.into().into_bytes(),
            ..Part::default()
        }
    }

    /// A part with bytes and, optionally, a `Content-Type`.
    fn bytes(name: &str, content_type: Option<&str>, body: &[u8]) -> Part {
        Part {
            name: Some(name.to_owned()),
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            ..Part::default()
        }
    }
}

/// The bytes of a form with [`BOUNDARY`].
fn form(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        if !part.no_disposition {
            let mut disposition = "Content-Disposition: form-data".to_owned();
            if let Some(name) = &part.name {
                disposition.push_str(&format!("; name=\"{name}\""));
            }
            if let Some(filename) = &part.filename {
                disposition.push_str(&format!("; filename=\"{filename}\""));
            }
            out.extend_from_slice(disposition.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if let Some(ct) = &part.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}

/// `POST` a form to `op` with extra headers.
async fn post_form(
    ctx: &Ctx,
    op: &str,
    parts: &[Part],
    headers: &[(&str, &str)],
) -> Result<Response, Finding> {
    post_raw(
        ctx,
        op,
        Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
        form(parts),
        headers,
    )
    .await
}

/// A `params` field for a quick `probe` job plus `extra` members.
fn params(extra: Value) -> Part {
    let mut params = json!({"steps": 1});
    if let (Some(map), Value::Object(extra)) = (params.as_object_mut(), extra) {
        map.extend(extra);
    }
    Part::field("params", params.to_string())
}

async fn malformed(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let good = form(&[params(json!({}))]);
    let response = post_raw(&ctx, &probe, Some("multipart/form-data"), good.clone(), &[]).await?;
    expect_problem(
        &ctx,
        &response,
        400,
        "malformed-request",
        "JOB-MULTIPART-1",
        "a multipart/form-data body whose Content-Type has no boundary",
    )?;

    let unterminated = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{\"steps\": 1}}"
    );
    let garbage = "this is not a multipart body at all".to_owned();
    let wrong_boundary = String::from_utf8_lossy(&good).replace(BOUNDARY, "another-boundary");
    for (body, what) in [
        (unterminated, "a form without its closing delimiter"),
        (garbage, "a body without any delimiter"),
        (
            wrong_boundary,
            "a form delimited by another boundary than the one given",
        ),
    ] {
        let response = post_raw(
            &ctx,
            &probe,
            Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
            body,
            &[],
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-MULTIPART-1",
            what,
        )?;
    }

    for (part, what) in [
        (
            Part {
                body: b"{}".to_vec(),
                ..Part::default()
            },
            "a part whose Content-Disposition has no name",
        ),
        (
            Part {
                no_disposition: true,
                content_type: Some("application/json".into()),
                body: b"{}".to_vec(),
                ..Part::default()
            },
            "a part without Content-Disposition",
        ),
    ] {
        let response = post_form(&ctx, &probe, &[params(json!({})), part], &[]).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-MULTIPART-1",
            what,
        )?;
    }
    Ok(())
}

/// Start a `probe` job with this form and expect it to succeed; return the
/// result bytes and media type.
async fn run_form(
    ctx: &Ctx,
    parts: &[Part],
    requirement: &'static str,
    what: &str,
) -> Result<(bytes::Bytes, String), Finding> {
    let response = post_form(ctx, ctx.probe(), parts, &[]).await?;
    let job = expect_accepted(ctx, response, requirement, what)?;
    result_of(ctx, &job, requirement, what).await
}

async fn input_parts(ctx: Ctx) -> Outcome {
    let binary: &[u8] = &[0, 1, 2, 0xff, b'\r', b'\n', b'-', b'-', b'x'];
    let cases: Vec<(Part, &str, &str)> = vec![
        (
            Part {
                filename: Some("ignored.bin".into()),
                ..Part::bytes("data", Some("text/csv"), b"a,b\r\n1,2\r\n")
            },
            "text/csv",
            "a part with Content-Type text/csv and the filename ignored.bin",
        ),
        (
            Part {
                filename: Some("notes.txt".into()),
                ..Part::bytes("data", None, binary)
            },
            "application/octet-stream",
            "a part without Content-Type and the filename notes.txt",
        ),
    ];
    for (part, media_type, what) in cases {
        let (bytes, got) = run_form(
            &ctx,
            &[params(json!({"echoInput": true})), part.clone()],
            "JOB-MULTIPART-2",
            what,
        )
        .await?;
        ensure!(
            bytes.as_ref() == part.body.as_slice(),
            "JOB-MULTIPART-2",
            "{what}: the plugin received {:?}, expected the part's body {:?}",
            show_body(&bytes),
            show_body(&part.body)
        );
        ensure!(
            same_media_type(&got, media_type),
            "JOB-MULTIPART-2",
            "{what}: the plugin received the media type {got:?}, expected {media_type:?}"
        );
    }
    Ok(())
}

async fn fields(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let l = ctx.limits().clone();
    let ttl = 120u64.clamp(l.min_ttl_seconds, l.max_ttl_seconds);
    let timeout = 60u64.clamp(1, l.max_timeout_seconds);
    let correlation = unique(&ctx, "fields");
    let parts = [
        params(json!({"echo": "from a form"})),
        Part::field("ttlSeconds", ttl.to_string()),
        Part::field("timeoutSeconds", timeout.to_string()),
        Part::field("correlationId", correlation.clone()),
    ];
    let response = post_form(&ctx, &probe, &parts, &[]).await?;
    let job = expect_accepted(&ctx, response, "JOB-MULTIPART-3", "a form with every field")?;
    for (member, want) in [
        ("ttlSeconds", json!(ttl)),
        ("timeoutSeconds", json!(timeout)),
        ("correlationId", json!(correlation)),
    ] {
        ensure!(
            job.doc[member] == want,
            "JOB-MULTIPART-3",
            "a form with the field {member} {want} started a job with {member} {}",
            job.doc[member]
        );
    }
    let (bytes, _) = result_of(&ctx, &job, "JOB-MULTIPART-3", "a form with every field").await?;
    let result: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    ensure!(
        result["echo"] == "from a form" && result["steps"] == 1,
        "JOB-MULTIPART-3",
        "the params field {{\"steps\": 1, \"echo\": \"from a form\"}} did not reach the plugin: the result is {}",
        show_body(&bytes)
    );

    for (part, what) in [
        (
            Part::field("ttlSeconds", "soon"),
            "ttlSeconds that is not an integer",
        ),
        (
            Part::field("timeoutSeconds", "1.5"),
            "timeoutSeconds that is not an integer",
        ),
        (
            Part::field("output", "results/x.json"),
            "output that is not JSON",
        ),
        (
            Part::field("output", "\"results/x.json\""),
            "output that is not a JSON object",
        ),
    ] {
        let response = post_form(&ctx, &probe, &[params(json!({})), part], &[]).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-MULTIPART-3",
            &format!("a form with {what}"),
        )?;
    }
    let response = post_form(&ctx, &probe, &[Part::field("params", "{\"steps\": ")], &[]).await?;
    expect_problem(
        &ctx,
        &response,
        400,
        "malformed-request",
        "JOB-MULTIPART-3",
        "a form whose params field is not JSON",
    )?;
    Ok(())
}

async fn unknown_and_repeated(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let cases: Vec<(Vec<Part>, &str)> = vec![
        (
            vec![params(json!({})), Part::field("conformanceUnknown", "1")],
            "a part that is neither an input nor a field",
        ),
        (
            vec![params(json!({})), params(json!({}))],
            "the params field twice",
        ),
        (
            vec![
                params(json!({})),
                Part::bytes("data", Some("text/plain"), b"one"),
                Part::bytes("data", Some("text/plain"), b"two"),
            ],
            "the input part data twice",
        ),
        (
            vec![
                params(json!({})),
                Part::field("correlationId", "a"),
                Part::field("correlationId", "b"),
            ],
            "the correlationId field twice",
        ),
    ];
    for (parts, what) in cases {
        let response = post_form(&ctx, &probe, &parts, &[]).await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-MULTIPART-4",
            &format!("a form with {what}"),
        )?;
    }
    let hook = json!({"url": "https://example.com/longrun-hook"}).to_string();
    if ctx.claims("callbacks") {
        let response = post_form(
            &ctx,
            &probe,
            &[params(json!({})), Part::field("callback", "not json")],
            &[],
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            400,
            "malformed-request",
            "JOB-MULTIPART-3",
            "a form whose callback field is not JSON",
        )?;
    } else {
        let response = post_form(
            &ctx,
            &probe,
            &[params(json!({})), Part::field("callback", hook)],
            &[],
        )
        .await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-request",
            "JOB-MULTIPART-4",
            "a form with a callback field, sent to a server that does not claim callbacks",
        )?;
    }
    Ok(())
}

async fn same_as_json(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    // Validation: the rules of sections 6.1 and 6.2 apply unchanged.
    for (parts, status, kind, what) in [
        (
            vec![params(json!({})), Part::field("ttlSeconds", "0")],
            422,
            "invalid-request",
            "ttlSeconds 0",
        ),
        (
            vec![Part::field("params", "{\"steps\": 0}")],
            422,
            "invalid-params",
            "params {\"steps\": 0}",
        ),
        (
            vec![Part::field("params", "[1]")],
            422,
            "invalid-params",
            "params that are not an object",
        ),
        (
            vec![params(json!({})), Part::field("correlationId", "")],
            422,
            "invalid-request",
            "an empty correlationId",
        ),
    ] {
        let response = post_form(&ctx, &probe, &parts, &[]).await?;
        expect_problem(
            &ctx,
            &response,
            status,
            kind,
            "JOB-MULTIPART-5",
            &format!("a form with {what}"),
        )?;
    }
    let ops = operations(&ctx).await?;
    if let Some(op) = ops
        .iter()
        .find(|op| inputs_of(op).iter().any(|i| i["required"] == true))
    {
        let name = op["name"].as_str().unwrap_or_default();
        let response = post_form(&ctx, name, &[Part::field("params", "{}")], &[]).await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-MULTIPART-5",
            &format!("a form for {name} without its required inputs"),
        )?;
    }
    if let Some((op, input, mismatch)) = ops.iter().find_map(|op| {
        inputs_of(op).into_iter().find_map(|input| {
            let declared = media_types_of(&input);
            let mismatch = mismatching_media_type(&declared)?;
            (!declared.is_empty()).then(|| (op.clone(), input, mismatch))
        })
    }) {
        let name = op["name"].as_str().unwrap_or_default();
        let input_name = input["name"].as_str().unwrap_or_default();
        let mut parts: Vec<Part> = required_inputs(&op)
            .into_iter()
            .filter(|(n, _)| n != input_name)
            .map(|(n, v)| Part::bytes(&n, v["mediaType"].as_str(), b"{}"))
            .collect();
        parts.push(Part::bytes(input_name, Some(&mismatch), b"{}"));
        let response = post_form(&ctx, name, &parts, &[]).await?;
        expect_problem(
            &ctx,
            &response,
            422,
            "invalid-inputs",
            "JOB-MULTIPART-5",
            &format!("a form for {name} whose part {input_name} has the media type {mismatch}"),
        )?;
    }

    // Execution: the same result as the JSON request.
    let csv = b"x,y\r\n1,2\r\n";
    let form_parts = [
        params(json!({"echo": ["same", 1]})),
        Part::bytes("data", Some("text/csv"), csv),
    ];
    let json_body = json!({
        "params": {"steps": 1, "echo": ["same", 1]},
        "inputs": {"data": {"text": "x,y\r\n1,2\r\n", "mediaType": "text/csv"}},
    });
    let (from_form, _) = run_form(
        &ctx,
        &form_parts,
        "JOB-MULTIPART-5",
        "a form with params and data",
    )
    .await?;
    let response = ctx.start(&probe, &json_body).await?;
    let job = expect_accepted(&ctx, response, "JOB-CREATE-1", "the equivalent JSON start")?;
    let (from_json, _) = result_of(&ctx, &job, "JOB-CREATE-1", "the equivalent JSON start").await?;
    let a: Value = serde_json::from_slice(&from_form).unwrap_or(Value::Null);
    let b: Value = serde_json::from_slice(&from_json).unwrap_or(Value::Null);
    ensure!(
        a == b && !a.is_null(),
        "JOB-MULTIPART-5",
        "a form and the equivalent JSON start gave different results: {} and {}",
        show_body(&from_form),
        show_body(&from_json)
    );

    // Idempotency: the form and the JSON start are the same request.
    if ctx.claims("idempotency") {
        let key = unique(&ctx, "key");
        let response = post_form(&ctx, &probe, &form_parts, &[("Idempotency-Key", &key)]).await?;
        let job = expect_accepted(
            &ctx,
            response,
            "JOB-MULTIPART-5",
            "a form with an Idempotency-Key",
        )?;
        let response = crate::checks::create::post_json_with(
            &ctx,
            &probe,
            &json_body,
            &[("Idempotency-Key", &key)],
        )
        .await?;
        ctx.track_created(&response);
        ensure!(
            response.status == 202
                && response.header("idempotent-replayed") == Some("true")
                && response.json().is_some_and(|d| d["id"] == job.id.as_str()),
            "JOB-MULTIPART-5",
            "the JSON start equivalent to a form, with the form's Idempotency-Key, was not a replay of job {}: {} {:?} {}",
            job.id,
            response.status,
            response.header("idempotent-replayed"),
            show_body(&response.body)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_forms() {
        let body = form(&[
            Part::field("params", "{}"),
            Part {
                filename: Some("a.txt".into()),
                ..Part::bytes("data", Some("text/plain"), b"hi")
            },
        ]);
        let text = String::from_utf8(body).unwrap();
        assert_eq!(
            text,
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"params\"\r\n\r\n{{}}\r\n\
                 --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.txt\"\r\n\
                 Content-Type: text/plain\r\n\r\nhi\r\n--{BOUNDARY}--\r\n"
            )
        );
    }
}
