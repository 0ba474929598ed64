//! Durability (acceptance point 2): deliveries pending for a receiver that is
//! down survive a SIGKILL of the runner and are all delivered once the receiver
//! is up and the runner is back.

use std::time::Duration;

use serde_json::json;

use super::common::*;

#[test]
fn acceptance_2_pending_callbacks_survive_sigkill_and_are_all_delivered() {
    // Nothing listens on the receiver's port until after the kill.
    let port = closed_port();
    let url = |i: usize| format!("http://127.0.0.1:{port}/hook/{i}");
    let mut server = Server::start_with(&["--allow-private-networks", "--callback-timeout", "2"]);

    let mut ids: Vec<String> = (0..6)
        .map(|i| quick_with(&server, json!({"url": url(i), "retry": fixed(20, 1)})))
        .collect();
    // Every delivery has been tried against the closed port and is waiting.
    let mut tried = Vec::new();
    for id in &ids {
        let doc = poll_job(&server, id, "tried once", |doc| {
            doc["callback"]["attempts"].as_u64() >= Some(1)
        });
        let callback = callback_of(&doc);
        assert_eq!(doc["status"], "succeeded");
        assert_eq!(callback["state"], "pending", "{callback}");
        assert!(callback["lastStatusCode"].is_null(), "{callback}");
        assert!(
            callback["lastError"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "a refused connection is named: {callback}"
        );
        assert!(callback["nextAttemptAt"].is_string(), "{callback}");
        tried.push(callback["attempts"].as_u64().unwrap());
    }
    // And one job still running at the kill: its delivery is pending from
    // submission on, and happens once the job has run after the restart.
    let running = server.started(
        "probe",
        &with_callback(
            json!({"durationMs": 1500, "steps": 15}),
            json!({"url": url(6), "retry": fixed(20, 1)}),
        ),
    );
    let running = id_of(&running);
    poll_job(&server, &running, "running", |doc| {
        doc["status"] == "running"
    });

    server.kill();
    let receiver = Receiver::start_on(port);
    server.kill_and_restart();
    ids.push(running);
    tried.push(0);

    for (i, (id, before)) in ids.iter().zip(&tried).enumerate() {
        let done = await_callback(&server, id, "delivered");
        assert_eq!(done["status"], "succeeded", "{done}");
        let callback = callback_of(&done);
        assert_eq!(callback["lastStatusCode"], 200, "{callback}");
        assert!(
            callback["attempts"].as_u64().unwrap() > *before,
            "the attempt count is kept across the restart ({before} before): {callback}"
        );
        let attempts = receiver.await_attempts(&format!("/hook/{i}"), 1);
        let event = attempts[0].json();
        assert_eq!(attempts[0].must_header("webhook-id"), format!("msg_{id}"));
        assert_eq!(event["type"], "job.succeeded", "{event}");
        assert_eq!(event["data"]["id"], id.as_str(), "{event}");
    }
    // Each exactly once: the receiver answered 200 to the first contact.
    holds_for(
        "no delivery is repeated",
        Duration::from_millis(1500),
        || receiver.count() == ids.len(),
    );
}
