//! Isolation (acceptance point 3): a receiver that never answers does not slow
//! the jobs down. A liveness check against a baseline measured in the same
//! test, not a benchmark.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::common::*;

/// How many jobs each batch runs.
const BATCH: usize = 80;

/// Start `BATCH` quick probe jobs, job `i` with `callback(i)` if any, and wait
/// until all are terminal; return the ids and the time from the first start to
/// the last finish seen.
fn run_batch(
    server: &Server,
    callback: impl Fn(usize) -> Option<Value>,
) -> (Vec<String>, Duration) {
    let began = Instant::now();
    let ids: Vec<String> = (0..BATCH)
        .map(|i| {
            let mut body = json!({"params": quick()});
            if let Some(callback) = callback(i) {
                body["callback"] = callback;
            }
            id_of(&server.started("probe", &body))
        })
        .collect();
    let mut open: Vec<&String> = ids.iter().collect();
    eventually("every job of the batch to finish", || {
        open.retain(|id| {
            !matches!(
                job(server, id)["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
        });
        open.is_empty().then_some(())
    });
    let took = began.elapsed();
    (ids, took)
}

#[test]
fn acceptance_3_a_receiver_that_never_answers_does_not_slow_the_jobs() {
    let receiver = Receiver::start();
    receiver.fallback(hang());
    let server = Server::start_with(&["--allow-private-networks", "--callback-timeout", "1"]);
    // Warm up (plugin instantiation, first store writes) outside the measures.
    let warm = id_of(&server.started("probe", &json!({"params": quick()})));
    await_terminal(&server, &warm);

    let (_, baseline) = run_batch(&server, |_| None);
    let (ids, measured) = run_batch(&server, |i| {
        (i % 2 == 0).then(
            || json!({"url": receiver.url(&format!("/hang/{i}")), "retry": {"maxAttempts": 1}}),
        )
    });
    let batch_end = Instant::now();
    let bound = baseline * 2 + Duration::from_secs(2);
    assert!(
        measured <= bound,
        "{BATCH} jobs, half with callbacks to a receiver that never answers, took {measured:?}; \
         without callbacks they took {baseline:?} (bound {bound:?})"
    );
    // Deliveries were under way (and hanging) while the jobs were finishing.
    let first = receiver.await_attempts("/hang/0", 1)[0].clone();
    assert!(
        first.at < batch_end,
        "no delivery was attempted until the batch was over"
    );
    // And they time out after --callback-timeout (1 s), not the default 10 s.
    let failed = await_callback(&server, &ids[0], "failed");
    let timed_out_after = first.at.elapsed();
    let callback = callback_of(&failed);
    assert_eq!(callback["attempts"], 1, "{callback}");
    assert!(callback["lastStatusCode"].is_null(), "{callback}");
    assert!(
        callback["lastError"]
            .as_str()
            .is_some_and(|e| !e.is_empty()),
        "the timeout is named: {callback}"
    );
    assert!(
        timed_out_after < Duration::from_secs(6),
        "the delivery to the hanging receiver ended {timed_out_after:?} after it began; \
         --callback-timeout is 1 s"
    );
    assert_eq!(failed["status"], "succeeded");
    eprintln!(
        "throughput: baseline {baseline:?}, with hanging callbacks {measured:?}, \
         {} attempts so far",
        receiver.count()
    );
}
