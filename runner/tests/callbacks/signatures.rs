//! Signatures, checked by an independent implementation of the Standard
//! Webhooks verification (the `standardwebhooks` crate), and the secret never
//! shown.

use serde_json::{Value, json};
use standardwebhooks::Webhook;

use super::common::*;

/// A per-job secret in `whsec_` form: the key is its base64-decoded rest.
const JOB_SECRET: &str = "whsec_yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f";
/// A per-job secret in text form: the key is its UTF-8 bytes.
const JOB_TEXT_SECRET: &str = "per-job text secret, long enough";
/// The server-wide secret (`--callback-secret`), in text form.
const SERVER_SECRET: &str = "server-wide secret text";

fn verifies(webhook: &Webhook, attempt: &Attempt) -> bool {
    webhook.verify(&attempt.body, &attempt.headers).is_ok()
}

#[test]
fn acceptance_1_signatures_verify_with_standard_webhooks() {
    let receiver = Receiver::start();
    receiver.script("/whsec", [status(500), status(200)]);
    let server = Server::start_with(&[
        "--allow-private-networks",
        "--callback-secret",
        SERVER_SECRET,
    ]);
    let per_job = server.started(
        "probe",
        &with_callback(
            quick(),
            json!({"url": receiver.url("/whsec"), "secret": JOB_SECRET, "retry": fixed(3, 1)}),
        ),
    );
    let server_wide = server.started(
        "probe",
        &with_callback(quick(), json!({"url": receiver.url("/server")})),
    );
    let text = server.started(
        "probe",
        &with_callback(
            quick(),
            json!({"url": receiver.url("/text"), "secret": JOB_TEXT_SECRET}),
        ),
    );

    let job_key = Webhook::new(JOB_SECRET).unwrap();
    let server_key = Webhook::from_bytes(SERVER_SECRET.as_bytes().to_vec()).unwrap();
    let text_key = Webhook::from_bytes(JOB_TEXT_SECRET.as_bytes().to_vec()).unwrap();

    let mut shown: Vec<Value> = vec![per_job.clone(), server_wide.clone(), text.clone()];
    for (doc, path, attempts, right, wrong) in [
        (&per_job, "/whsec", 2, &job_key, &server_key),
        (&server_wide, "/server", 1, &server_key, &job_key),
        (&text, "/text", 1, &text_key, &server_key),
    ] {
        let id = id_of(doc);
        let done = await_callback(&server, &id, "delivered");
        assert_eq!(done["callback"]["attempts"], attempts, "{done}");
        shown.push(done);
        let got = receiver.attempts_to(path);
        assert_eq!(got.len(), attempts, "{path}");
        for attempt in &got {
            let signature = attempt.must_header("webhook-signature");
            assert!(signature.starts_with("v1,"), "{path}: {signature}");
            right
                .verify(&attempt.body, &attempt.headers)
                .unwrap_or_else(|e| panic!("{path}: the signature does not verify: {e}"));
            assert!(
                !verifies(wrong, attempt),
                "{path}: signed with the wrong secret"
            );
            // The check is real: a changed body does not verify.
            let mut tampered = attempt.clone();
            tampered.body.extend_from_slice(b" ");
            assert!(
                !verifies(right, &tampered),
                "{path}: tampered body verifies"
            );
            shown.push(attempt.json());
        }
        assert_eq!(got[0].must_header("webhook-id"), format!("msg_{id}"));
    }

    // Never shown: not in the job documents (submitted, finished, listed), the
    // event bodies, or the log.
    shown.extend(list(&server));
    for value in &shown {
        for secret in [JOB_SECRET, JOB_TEXT_SECRET, SERVER_SECRET] {
            assert_no_secret(value, secret);
        }
    }
    let log_text = log(&server, &id_of(&per_job));
    assert!(!log_text.contains(JOB_SECRET), "the log shows the secret");
}

/// The test vectors of spec section 24.3, checked by the independent
/// implementation (they are what the server's own unit tests use).
#[test]
fn callback_11_the_spec_signature_vectors_verify_with_standard_webhooks() {
    let id = "msg_0193a6f2-7c1e-7b4a-9d0e-3f5b2c8a1d44";
    let stamp = 1795302164;
    let body = br#"{"type":"job.succeeded","timestamp":"2026-11-21T23:02:44.140Z","data":{"id":"0193a6f2-7c1e-7b4a-9d0e-3f5b2c8a1d44"}}"#;
    let whsec = Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let text = Webhook::from_bytes(b"my-shared-secret".to_vec()).unwrap();
    for (key, body, expected) in [
        (
            &whsec,
            &body[..],
            "v1,KVD1hAnU011SC9kCoCiGaxqXpUG3S2Giu4a5uxhk5UE=",
        ),
        (
            &whsec,
            &b""[..],
            "v1,yXCbNTcTrXvU1svB1/ZFoaeY/fw7QzrfeGY+6LLg0Ac=",
        ),
        (
            &text,
            &body[..],
            "v1,dUZ8vnBFOv/eadESd+welnklYzg0hflHYipY3HGF5ro=",
        ),
    ] {
        assert_eq!(key.sign(id, stamp, body).unwrap(), expected);
    }
}
