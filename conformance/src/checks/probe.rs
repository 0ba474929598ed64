//! Section 21: the `probe` operation, the fixture every job check drives.

use serde_json::Value;

use crate::check::{Check, Outcome};
use crate::context::Ctx;
use crate::ensure;

/// The checks of this section.
pub const CHECKS: &[Check] = &[Check {
    id: "probe.offered",
    title: "the probe operation is offered with the stages, input and result of section 21",
    class: "core",
    requirements: &["PROBE-1", "PROBE-2"],
    needs: &["service.document"],
    jobs: 0,
    exclusive: false,
    run: |ctx| Box::pin(offered(ctx)),
}];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

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
