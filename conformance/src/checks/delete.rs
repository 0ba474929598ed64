//! Section 14: delete (`DELETE /v1/jobs/{id}`, class `delete`).
//!
//! - deleting a running job cancels it first and answers its canceled document
//!   within the bound of CANCEL-3; deleting a terminal job answers its document
//!   as it was (DELETE-1);
//! - a delete racing the job's own end still deletes it and shows the status it
//!   ended in (DELETE-2, best effort: which side wins is up to timing);
//! - afterwards every endpoint that names the job answers `404` and the job is
//!   not listed (DELETE-3); unknown and deleted jobs answer `404` (DELETE-5).
//!
//! That the job's files leave the server's storage (DELETE-4) cannot be seen
//! from outside beyond DELETE-3.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::check::{Check, Finding, Outcome};
use crate::checks::cancel::{canceled_shape, ended, running_hold, terminal_doc_headers};
use crate::checks::document::{has, without_expiry};
use crate::checks::expiry::still_there;
use crate::context::Ctx;
use crate::ensure;
use crate::exchange::show_body;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "delete.active",
        title: "DELETE of a running job answers 200 within 5 s with its canceled document",
        class: "delete",
        requirements: &["DELETE-1", "JOB-DOC-11"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(active(ctx)),
    },
    Check {
        id: "delete.terminal",
        title: "DELETE of a terminal job answers 200 with its document as it was",
        class: "delete",
        requirements: &["DELETE-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(terminal(ctx)),
    },
    Check {
        id: "delete.gone",
        title: "after a DELETE every endpoint naming the job answers 404 job-not-found and it is not listed",
        class: "delete",
        requirements: &["DELETE-3", "DELETE-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(gone(ctx)),
    },
    Check {
        id: "delete.race",
        title: "a DELETE racing the job's end deletes it and shows the status it ended in",
        class: "delete",
        requirements: &["DELETE-2", "DELETE-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(race(ctx)),
    },
    Check {
        id: "delete.unknown",
        title: "DELETE of an unknown job answers 404 job-not-found",
        class: "delete",
        requirements: &["DELETE-5"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(unknown(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[(
    "DELETE-4",
    "removal from the server's storage is not observable over HTTP beyond the 404 of DELETE-3 (and the output root is the operator's)",
)];

/// The bound on canceling a running `probe` job (CANCEL-3, applied by DELETE-1).
const CANCEL_BOUND: Duration = Duration::from_secs(5);

async fn active(ctx: Ctx) -> Outcome {
    let job = running_hold(&ctx).await?;
    let started = Instant::now();
    let response = ctx
        .delete(&job.url)
        .send_within(CANCEL_BOUND, Some("DELETE-1"))
        .await?;
    let elapsed = started.elapsed();
    ensure!(
        elapsed <= CANCEL_BOUND,
        "DELETE-1",
        "DELETE of a running probe job was answered after {:.2} s, expected within 5 s (CANCEL-3)",
        elapsed.as_secs_f64()
    );
    ensure!(
        response.status == 200,
        "DELETE-1",
        "DELETE of a running job answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("DELETE-1")?;
    ensure!(
        doc["id"] == job.id.as_str(),
        "DELETE-1",
        "DELETE answered the document of {}, expected job {}",
        doc["id"],
        job.id
    );
    if let Err(message) = canceled_shape(&doc) {
        ensure!(
            false,
            "DELETE-1",
            "DELETE of a running job must answer its canceled document (CANCEL-1): {message}"
        );
    }
    if let Err(message) = terminal_doc_headers(&response) {
        ensure!(false, "JOB-DOC-11", "the 200 of a DELETE: {message}");
    }
    Ok(())
}

async fn terminal(ctx: Ctx) -> Outcome {
    let (job, _) = ended(&ctx, json!({"params": {"steps": 1}})).await?;
    let before = ctx.get(&job.url).send().await?;
    if before.status != 200 {
        return Err(Finding::error(format!(
            "setting the check up: GET of a finished job answered {}",
            before.status
        )));
    }
    let doc = before.json_object("JOB-DOC-1")?;
    let response = ctx.delete(&job.url).send().await?;
    ensure!(
        response.status == 200,
        "DELETE-1",
        "DELETE of a {} job answered {}, expected 200: {}",
        doc["status"],
        response.status,
        show_body(&response.body)
    );
    let last = response.json_object("DELETE-1")?;
    ensure!(
        without_expiry(&last) == without_expiry(&doc),
        "DELETE-1",
        "DELETE of a terminal job must answer its document as it was; GET showed {doc}, DELETE answered {last}"
    );
    if let (Some(got), Some(want)) = (response.header("etag"), before.header("etag")) {
        ensure!(
            got == want,
            "DELETE-1",
            "DELETE of a terminal job answered ETag {got}, GET showed {want} for the same document"
        );
    }
    Ok(())
}

async fn gone(ctx: Ctx) -> Outcome {
    let (job, doc) = ended(&ctx, json!({"params": {"steps": 1}})).await?;
    if doc["status"] != "succeeded" {
        return Err(Finding::error(format!(
            "setting the check up: a quick probe job ended {}",
            doc["status"]
        )));
    }
    let response = ctx.delete(&job.url).send().await?;
    ensure!(
        response.status == 200,
        "DELETE-3",
        "DELETE of a succeeded job answered {}, expected 200 (DELETE-1): {}",
        response.status,
        show_body(&response.body)
    );
    // A second DELETE first (DELETE-5), then every other endpoint.
    let again = ctx.delete(&job.url).send().await?;
    again.expect_problem(404, "job-not-found", "DELETE-5")?;
    if let Some(message) = still_there(&ctx, &job.url, &doc).await? {
        ensure!(false, "DELETE-3", "after a DELETE answered 200: {message}");
    }
    Ok(())
}

async fn race(ctx: Ctx) -> Outcome {
    for duration in [0, 5, 20, 50, 100] {
        let job = ctx
            .start_probe(json!({"durationMs": duration, "steps": 1}))
            .await?;
        let response = ctx.delete(&job.url).send().await?;
        ensure!(
            response.status == 200,
            "DELETE-2",
            "DELETE of a job of {duration} ms, right after its start, answered {}, expected 200: {}",
            response.status,
            show_body(&response.body)
        );
        let doc = response.json_object("DELETE-1")?;
        match doc["status"].as_str() {
            Some("canceled") => {
                if let Err(message) = canceled_shape(&doc) {
                    ensure!(false, "DELETE-1", "DELETE of an active job: {message}");
                }
            }
            Some("succeeded") => {
                ensure!(
                    has(&doc, "result"),
                    "DELETE-2",
                    "DELETE answered a succeeded document without its result: {doc}"
                );
            }
            _ => {
                ensure!(
                    false,
                    "DELETE-2",
                    "DELETE of a job racing its end answered status {}, expected canceled or the status it ended in (succeeded)",
                    doc["status"]
                );
            }
        }
        let after = ctx.get(&job.url).send().await?;
        ensure!(
            after.status == 404,
            "DELETE-2",
            "after DELETE answered 200 ({}), GET of the job answered {}, expected 404: the job must be deleted whoever won the race",
            doc["status"],
            after.status
        );
    }
    Ok(())
}

async fn unknown(ctx: Ctx) -> Outcome {
    let id = format!("conformance-unknown-{}", uuid::Uuid::now_v7());
    let response = ctx.delete(&format!("/v1/jobs/{id}")).send().await?;
    response.expect_problem(404, "job-not-found", "DELETE-5")?;
    Ok(())
}
