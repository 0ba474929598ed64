//! Section 21: the `probe` operation, the fixture every job check drives, and
//! the plugin rules of section 20 that the probe makes visible.
//!
//! - `probe.offered`: the operation, its stages, input and result (PROBE-1, PROBE-2);
//! - `probe.params-schema`: which params are accepted and refused (PROBE-2);
//! - `probe.progress`: the progress reports and their timing (PROBE-3, PLUGIN-4);
//! - `probe.cancel-stops`: a canceled probe stops at once (PROBE-4, PLUGIN-5);
//! - `probe.fail`: `fail` ends the job with that error after the last report (PROBE-5);
//! - `probe.results`: the three result shapes (PROBE-6, PLUGIN-2, PLUGIN-3);
//! - `probe.echo-input-needs-data`: `echoInput` without `data` fails with
//!   `invalid-params` before any progress (PROBE-6).

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::is_terminal;
use crate::timestamps::millis_between;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "probe.offered",
        title: "the probe operation is offered with the stages, input and result of section 21",
        class: "core",
        requirements: &["PROBE-1", "PROBE-2"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(offered(ctx)),
    },
    Check {
        id: "probe.params-schema",
        title: "probe accepts exactly the params of PROBE-2 and refuses others with invalid-params",
        class: "core",
        requirements: &["PROBE-2", "JOB-CREATE-12", "ERR-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(params_schema(ctx)),
    },
    Check {
        id: "probe.progress",
        title: "probe reports prepare, every step i of n at its time, then finish",
        class: "core",
        requirements: &["PROBE-3", "PLUGIN-4"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(progress(ctx)),
    },
    Check {
        id: "probe.cancel-stops",
        title: "a probe canceled in the middle of a long step stops at once",
        class: "cancel",
        requirements: &["PROBE-4", "PLUGIN-5", "CANCEL-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(cancel_stops(ctx)),
    },
    Check {
        id: "probe.fail",
        title: "probe with `fail` fails with that code and message after its finish report",
        class: "core",
        requirements: &["PROBE-5", "ERR-10"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(fail(ctx)),
    },
    Check {
        id: "probe.results",
        title: "probe returns the JSON echo, resultBytes bytes or the echoed input, with their media types",
        class: "core",
        requirements: &["PROBE-6", "PLUGIN-2", "PLUGIN-3"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(results(ctx)),
    },
    Check {
        id: "probe.echo-input-needs-data",
        title: "probe with echoInput and no input data fails with invalid-params before any progress",
        class: "core",
        requirements: &["PROBE-6"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(echo_input_needs_data(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[
    (
        "PLUGIN-1",
        "loading plugins (describe called once, invalid descriptions not offered) needs control \
         over the server's plugin directory; a client only sees the operations that were loaded",
    ),
    (
        "PLUGIN-7",
        "the WIT package's versioning and which plugin builds a runner loads cannot be observed \
         over HTTP",
    ),
    (
        "PLUGIN-8",
        "picking up added, changed and removed plugins needs files placed in the server's \
         plugins directory, which a client cannot do",
    ),
    (
        "PLUGIN-9",
        "which world a plugin targets and how it reads inputs and writes its result happen \
         between the runner and the plugin; over HTTP they look the same as PLUGIN-2 and \
         PLUGIN-3",
    ),
];

async fn offered(ctx: Ctx) -> Outcome {
    let name = ctx.probe().to_owned();
    let response = ctx.get(&format!("/v1/operations/{name}")).send().await?;
    ensure!(
        response.status == 200,
        "PROBE-1",
        "GET /v1/operations/{name} answered {}; the suite needs the `{name}` operation (use --probe-operation to name another)",
        response.status
    );
    let op = response.json_object("PROBE-1")?;
    ensure!(
        op["stages"] == serde_json::json!(["prepare", "work", "finish"]),
        "PROBE-2",
        "stages are {}, expected [\"prepare\", \"work\", \"finish\"]",
        op["stages"]
    );
    let inputs = op["inputs"].as_array().cloned().unwrap_or_default();
    ensure!(
        inputs.len() == 1
            && inputs[0]["name"] == "data"
            && inputs[0]["required"] == false
            && inputs[0]["mediaTypes"]
                .as_array()
                .is_some_and(Vec::is_empty)
            && inputs[0].get("maxBytes").is_none_or(Value::is_null),
        "PROBE-2",
        "inputs are {}, expected one optional input `data` of any media type without maxBytes",
        op["inputs"]
    );
    ensure!(
        op["resultMediaType"] == "application/json",
        "PROBE-2",
        "resultMediaType is {}, expected application/json",
        op["resultMediaType"]
    );
    Ok(())
}

/// Stop a job that would otherwise run long (delete, else cancel).
async fn stop(ctx: &Ctx, url: &str) -> Outcome {
    let request = if ctx.claims("delete") {
        ctx.delete(url)
    } else {
        ctx.request(reqwest::Method::POST, &format!("{url}/cancel"))
    };
    request.send().await?;
    Ok(())
}

async fn params_schema(ctx: Ctx) -> Outcome {
    let op = ctx.probe().to_owned();
    // Params PROBE-2 accepts; all of them end at once.
    let accepted = [
        json!({}),
        json!({"durationMs": 0, "steps": 1}),
        json!({"steps": 3.0}),
        json!({"echo": {"nested": [1, "two", null, {"x": false}]}}),
        json!({"echo": null, "echoInput": false}),
        json!({"echoInput": true, "echo": 1}),
        json!({"resultBytes": 0, "echo": "ignored"}),
        json!({"fail": {"code": "c", "message": ""}}),
    ];
    for params in accepted {
        let response = ctx.start(&op, &json!({ "params": params })).await?;
        ctx.track_created(&response);
        ensure!(
            response.status == 202,
            "PROBE-2",
            "params {params} are valid for the probe, but the start request was answered {} {}",
            response.status,
            show_body(&response.body)
        );
    }
    // The upper bounds, in a job that would run for an hour: stopped at once.
    if ctx.claims("delete") || ctx.claims("cancel") {
        let params =
            json!({"durationMs": 3_600_000, "steps": 10_000, "resultBytes": 104_857_600u64});
        let response = ctx.start(&op, &json!({ "params": params })).await?;
        ctx.track_created(&response);
        if let (202, Some(url)) = (response.status, response.header("location")) {
            stop(&ctx, url).await?;
        }
        ensure!(
            response.status == 202,
            "PROBE-2",
            "params {params} (every upper bound) are valid for the probe, but the start request \
             was answered {} {}",
            response.status,
            show_body(&response.body)
        );
    }
    // Params PROBE-2 refuses.
    let refused = [
        json!({"other": 1}),
        json!({"durationMs": -1}),
        json!({"durationMs": 3_600_001}),
        json!({"durationMs": 1.5}),
        json!({"durationMs": "10"}),
        json!({"steps": 0}),
        json!({"steps": 10_001}),
        json!({"fail": "boom"}),
        json!({"fail": {"code": "", "message": "m"}}),
        json!({"fail": {"code": "c"}}),
        json!({"fail": {"message": "m"}}),
        json!({"fail": {"code": 1, "message": "m"}}),
        json!({"fail": {"code": "c", "message": "m", "other": 1}}),
        json!({"resultBytes": -1}),
        json!({"resultBytes": 104_857_601u64}),
        json!({"echoInput": "yes"}),
        json!({"echoInput": null}),
        json!({"resultBytes": 1, "echoInput": false}),
        json!({"resultBytes": 0, "echoInput": true}),
    ];
    for params in refused {
        let response = ctx.start(&op, &json!({ "params": params })).await?;
        ctx.track_created(&response);
        ensure!(
            response.status == 422 && response.problem_kind().as_deref() == Some("invalid-params"),
            "PROBE-2",
            "params {params} are not valid for the probe and must be refused with 422 \
             invalid-params; got {} {}",
            response.status,
            show_body(&response.body)
        );
        let problem = response.json().unwrap_or(Value::Null);
        let errors = problem["errors"].as_array().cloned().unwrap_or_default();
        ensure!(
            !errors.is_empty()
                && errors.iter().all(|e| {
                    e["pointer"]
                        .as_str()
                        .is_some_and(|p| p.is_empty() || p.starts_with('/'))
                        && e["message"].is_string()
                }),
            "JOB-CREATE-12",
            "the invalid-params problem for {params} must list at least one \
             {{\"pointer\": <JSON Pointer>, \"message\": <string>}} in `errors`; got {}",
            problem["errors"]
        );
    }
    Ok(())
}

/// One progress state PROBE-3 allows, as an ordering key: (stage index, step).
fn progress_key(progress: &Value, steps: u64) -> Result<(u64, u64), String> {
    let percent = progress["percent"].as_f64();
    let message = progress["message"].as_str();
    let close = |want: f64| percent.is_some_and(|p| (p - want).abs() < 0.01);
    match progress["stage"].as_str() {
        // Before the first report.
        None if close(0.0) => Ok((0, 0)),
        Some("prepare") if close(0.0) && message == Some("preparing") => Ok((1, 0)),
        Some("work") => {
            let i = message
                .and_then(|m| m.strip_prefix("step "))
                .and_then(|m| m.strip_suffix(&format!(" of {steps}")))
                .and_then(|i| i.parse::<u64>().ok())
                .filter(|i| (1..=steps).contains(i))
                .ok_or_else(|| {
                    format!(
                        "stage work has the message {message:?}, expected \"step i of {steps}\""
                    )
                })?;
            let want = 100.0 * i as f64 / steps as f64;
            if close(want) {
                Ok((2, i))
            } else {
                Err(format!(
                    "after step {i} of {steps} the percent is {percent:?}, expected 100 * {i} / {steps} = {want}"
                ))
            }
        }
        Some("finish") if close(100.0) && message == Some("finishing") => Ok((3, steps)),
        _ => Err(format!(
            "{progress} is none of the reports PROBE-3 allows (prepare/0/\"preparing\", \
             work/100*i/n/\"step i of n\", finish/100/\"finishing\")"
        )),
    }
}

async fn progress(ctx: Ctx) -> Outcome {
    const STEPS: u64 = 3;
    const DURATION_MS: u64 = 1200;
    let job = ctx
        .start_probe(json!({"durationMs": DURATION_MS, "steps": STEPS}))
        .await?;
    let seen = ctx
        .collect_job(&job.url, "terminal", "PROBE-3", is_terminal)
        .await?;
    let done = seen.last().cloned().unwrap_or(Value::Null);
    ensure!(
        done["status"] == "succeeded",
        "PROBE-3",
        "a probe job with durationMs {DURATION_MS} and {STEPS} steps ended {}, expected succeeded: {}",
        done["status"],
        done
    );
    let mut last = (0, 0);
    let mut work_seen = false;
    for doc in &seen {
        let key =
            progress_key(&doc["progress"], STEPS).map_err(|m| Finding::violation("PROBE-3", m))?;
        ensure!(
            key >= last,
            "PROBE-3",
            "the progress went back from {last:?} to {} (stage index, step)",
            doc["progress"]
        );
        last = key;
        if key.0 == 2 {
            work_seen = true;
            // Step i ends floor(durationMs * i / n) ms after the prepare
            // report, which comes after the attempt started.
            let earliest = (DURATION_MS * key.1 / STEPS) as i128;
            let after = millis_between(&doc["startedAt"], &doc["updatedAt"]);
            ensure!(
                after.is_none_or(|ms| ms + 2 >= earliest),
                "PROBE-3",
                "step {} of {STEPS} was reported {after:?} ms after the attempt started; with \
                 durationMs {DURATION_MS} it cannot end before {earliest} ms",
                key.1
            );
        }
    }
    ensure!(
        last == (3, STEPS),
        "PROBE-3",
        "the succeeded job's progress is {}, expected stage finish, percent 100, message finishing",
        done["progress"]
    );
    let ran = millis_between(&done["startedAt"], &done["finishedAt"]);
    ensure!(
        ran.is_none_or(|ms| ms + 2 >= DURATION_MS as i128),
        "PROBE-3",
        "the job ran {ran:?} ms (startedAt to finishedAt), less than its durationMs {DURATION_MS}"
    );
    if ctx.claims("long-poll") {
        // Steps 400 ms apart, watched with long polls: at least one shows.
        ensure!(
            work_seen,
            "PROBE-3",
            "watching the job with long polls never showed a `work` report (\"step i of {STEPS}\"); \
             seen: {}",
            seen.iter()
                .map(|d| d["progress"].to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

async fn cancel_stops(ctx: Ctx) -> Outcome {
    // One step of ten minutes: the probe waits inside it, asking
    // `is-cancelled` every 20 ms.
    let job = ctx
        .start_probe(json!({"durationMs": 600_000, "steps": 1}))
        .await?;
    ctx.collect_job(
        &job.url,
        "running with its prepare report",
        "PROBE-3",
        |doc| doc["status"] == "running" && doc["progress"]["stage"] == "prepare",
    )
    .await?;
    let bound = ctx.timeouts().scale(Duration::from_secs(2));
    let started = Instant::now();
    let response = ctx
        .request(reqwest::Method::POST, &job.sub("/cancel"))
        .send()
        .await?;
    let took = started.elapsed();
    let doc = response.json().unwrap_or(Value::Null);
    ensure!(
        response.status == 200 && doc["status"] == "canceled",
        "CANCEL-1",
        "cancel of a running probe job answered {} {}; expected 200 with status canceled",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        took <= bound,
        "PROBE-4",
        "the cancel took {:.2} s to answer; the probe asks is-cancelled every 20 ms and must \
         stop once it is true (PLUGIN-5), so a cancel should be done well within {:.1} s",
        took.as_secs_f64(),
        bound.as_secs_f64()
    );
    ensure!(
        doc["progress"]["stage"] == "prepare" && doc["progress"]["percent"].as_f64() == Some(0.0),
        "PROBE-4",
        "the probe was canceled inside its only step, yet the canceled document shows the progress {}",
        doc["progress"]
    );
    Ok(())
}

async fn fail(ctx: Ctx) -> Outcome {
    let code = "conformance-failure";
    let message = "failed on purpose by the conformance suite";
    let job = ctx
        .start_probe(json!({"steps": 2, "fail": {"code": code, "message": message}}))
        .await?;
    let done = ctx.wait_terminal(&job.url, "PROBE-5").await?;
    ensure!(
        done["status"] == "failed",
        "PROBE-5",
        "a probe job with `fail` ended {}, expected failed: {done}",
        done["status"]
    );
    let error = &done["error"];
    ensure!(
        error["type"] == "urn:longrun:problem:plugin-error",
        "PROBE-5",
        "the probe returned an error, so the job's error type must be plugin-error; got {error}"
    );
    ensure!(
        error["code"] == code && error["detail"] == message,
        "ERR-10",
        "the probe failed with code {code:?} and message {message:?}; the error shows code {} and detail {}",
        error["code"],
        error["detail"]
    );
    let progress = &done["progress"];
    ensure!(
        progress["stage"] == "finish"
            && progress["message"] == "finishing"
            && progress["percent"].as_f64() == Some(100.0),
        "PROBE-5",
        "the probe fails after its finish report, so the failed job's progress must be \
         finish/100/finishing; got {progress}"
    );
    Ok(())
}

/// Run a probe job to its end and read its result.
async fn run_to_result(ctx: &Ctx, body: Value) -> Result<(Value, Response), Finding> {
    let job = ctx.start_probe_with(body.clone()).await?;
    let done = ctx.wait_terminal(&job.url, "PROBE-6").await?;
    ensure!(
        done["status"] == "succeeded",
        "PROBE-6",
        "the probe job {body} ended {} instead of succeeded: {done}",
        done["status"]
    );
    let result = ctx.get(&job.sub("/result")).send().await?;
    ensure!(
        result.status == 200,
        "PROBE-6",
        "GET of the result of the succeeded job {body} answered {}: {}",
        result.status,
        show_body(&result.body)
    );
    Ok((done, result))
}

/// The result's media type agrees in the document and the answer.
fn media_types(done: &Value, result: &Response, want: &str, what: &str) -> Outcome {
    let doc_type = done["result"]["mediaType"].as_str().unwrap_or("");
    let header = result.media_type().unwrap_or_default();
    ensure!(
        doc_type.eq_ignore_ascii_case(want) && header.eq_ignore_ascii_case(want),
        "PLUGIN-3",
        "{what}: the result's media type must be {want}; result.mediaType is {doc_type:?}, \
         Content-Type is {:?}",
        result.header("content-type")
    );
    Ok(())
}

async fn results(ctx: Ctx) -> Outcome {
    // The JSON echo: params reach the plugin as given.
    let echo = json!({
        "nested": {"list": [1, 2.5, "ü", null, true, {"deep": false}]},
        "negative": -7,
        "empty": {},
        "text": "line\nbreak \"quoted\""
    });
    let body = json!({"params": {"echo": echo, "steps": 3}});
    let (done, result) = run_to_result(&ctx, body.clone()).await?;
    media_types(&done, &result, "application/json", "the JSON echo")?;
    let got: Value = serde_json::from_slice(&result.body).map_err(|e| {
        Finding::violation(
            "PROBE-6",
            format!(
                "the JSON echo result is not JSON ({e}): {}",
                show_body(&result.body)
            ),
        )
    })?;
    let want = json!({"echo": echo, "steps": 3, "inputs": []});
    ensure!(
        got == want,
        "PLUGIN-2",
        "params {} must reach the plugin as given, so the result must be {want}; got {got}",
        body["params"]
    );

    // The JSON echo lists the given input; steps defaults to 10.
    let data = vec![0u8, 1, 2, 255];
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let body = json!({
        "params": {},
        "inputs": {"data": {"base64": encoded, "mediaType": "application/x-conformance"}}
    });
    let (_, result) = run_to_result(&ctx, body).await?;
    let got: Value = serde_json::from_slice(&result.body).unwrap_or(Value::Null);
    let want = json!({
        "echo": null,
        "steps": 10,
        "inputs": [{"name": "data", "mediaType": "application/x-conformance", "size": data.len()}]
    });
    ensure!(
        got == want,
        "PROBE-6",
        "with params {{}} and a 4-byte input data of type application/x-conformance, the result \
         must be {want}; got {}",
        show_body(&result.body)
    );

    // resultBytes: byte k is k mod 251; echo does not matter.
    let n = 600usize;
    let body = json!({"params": {"resultBytes": n, "echo": "ignored", "steps": 1}});
    let (done, result) = run_to_result(&ctx, body).await?;
    media_types(&done, &result, "application/octet-stream", "resultBytes")?;
    let want: Vec<u8> = (0..n).map(|k| (k % 251) as u8).collect();
    ensure!(
        result.body.as_ref() == want.as_slice(),
        "PROBE-6",
        "resultBytes {n} must give {n} bytes where byte k is k mod 251; got {} bytes{}",
        result.body.len(),
        first_difference(&result.body, &want)
    );

    // resultBytes 0: an empty result.
    let body = json!({"params": {"resultBytes": 0, "steps": 1}});
    let (done, result) = run_to_result(&ctx, body).await?;
    media_types(&done, &result, "application/octet-stream", "resultBytes 0")?;
    ensure!(
        result.body.is_empty(),
        "PROBE-6",
        "resultBytes 0 must give an empty result; got {} bytes",
        result.body.len()
    );

    // echoInput: exactly the input's bytes with its media type.
    let data: Vec<u8> = (0..300u32).map(|i| (i * 7 % 256) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    let body = json!({
        "params": {"echoInput": true, "echo": {"ignored": true}, "steps": 1},
        "inputs": {"data": {"base64": encoded, "mediaType": "image/x-conformance"}}
    });
    let (done, result) = run_to_result(&ctx, body).await?;
    media_types(&done, &result, "image/x-conformance", "echoInput")?;
    ensure!(
        result.body.as_ref() == data.as_slice(),
        "PROBE-6",
        "echoInput must return exactly the {} bytes of input data; got {} bytes{}",
        data.len(),
        result.body.len(),
        first_difference(&result.body, &data)
    );
    Ok(())
}

/// Where two byte strings first differ, for messages.
fn first_difference(got: &[u8], want: &[u8]) -> String {
    match got.iter().zip(want).position(|(a, b)| a != b) {
        Some(k) => format!(
            ", first difference at byte {k}: {} instead of {}",
            got[k], want[k]
        ),
        None => String::new(),
    }
}

async fn echo_input_needs_data(ctx: Ctx) -> Outcome {
    for params in [
        json!({"echoInput": true, "steps": 3}),
        json!({"echoInput": true, "durationMs": 100, "fail": {"code": "other", "message": "m"}}),
    ] {
        let job = ctx.start_probe(params.clone()).await?;
        let done = ctx.wait_terminal(&job.url, "PROBE-6").await?;
        let error = &done["error"];
        ensure!(
            done["status"] == "failed"
                && error["type"] == "urn:longrun:problem:plugin-error"
                && error["code"] == "invalid-params",
            "PROBE-6",
            "params {params} without input data must fail with a plugin-error of code \
             invalid-params; the job ended {} with error {error}",
            done["status"]
        );
        let progress = &done["progress"];
        ensure!(
            progress["stage"].is_null() && progress["percent"].as_f64() == Some(0.0),
            "PROBE-6",
            "the probe must fail before it reports any progress, but the failed job shows {progress}"
        );
    }
    Ok(())
}
