//! The URL guard on callback URLs (acceptance point 4): without
//! `--allow-private-networks`, every spelling of a non-public address is
//! refused at submission, and the receiver behind it is never contacted.

use std::time::Duration;

use serde_json::json;

use super::common::*;

/// Start a quick probe job with a callback to `url`.
fn submit(server: &Server, url: &str) -> reqwest::blocking::Response {
    server.start_job("probe", &with_callback(quick(), json!({ "url": url })))
}

#[test]
fn acceptance_4_every_non_public_address_form_is_refused_at_submission() {
    let receiver = Receiver::start();
    let port = receiver.port;
    let server = Server::start();
    let forms = [
        // IPv4 loopback, and numeric spellings of it the URL parser turns into IPv4.
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://127.0.0.2:{port}/hook"),
        format!("http://2130706433:{port}/hook"),
        format!("http://0x7f.0.0.1:{port}/hook"),
        format!("http://0x7f000001:{port}/hook"),
        format!("http://017700000001:{port}/hook"),
        format!("http://0177.0.0.1:{port}/hook"),
        format!("http://127.1:{port}/hook"),
        // Private.
        "http://10.0.0.1/hook".to_owned(),
        "http://172.16.0.1/hook".to_owned(),
        "http://192.168.1.1/hook".to_owned(),
        "http://167772161/hook".to_owned(), // 10.0.0.1
        // Link-local (the cloud metadata address).
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        // Multicast, broadcast.
        "http://224.0.0.1/hook".to_owned(),
        "http://239.255.255.250/hook".to_owned(),
        "http://255.255.255.255/hook".to_owned(),
        // Unspecified.
        format!("http://0.0.0.0:{port}/hook"),
        format!("http://0:{port}/hook"),
        // IPv6: loopback, unspecified, link-local, unique local, multicast.
        format!("http://[::1]:{port}/hook"),
        format!("http://[0:0:0:0:0:0:0:1]:{port}/hook"),
        format!("http://[::]:{port}/hook"),
        "http://[fe80::1]/hook".to_owned(),
        "http://[fc00::1]/hook".to_owned(),
        "http://[fd12:3456:789a::1]/hook".to_owned(),
        "http://[ff02::1]/hook".to_owned(),
        // IPv4-mapped IPv6.
        format!("http://[::ffff:127.0.0.1]:{port}/hook"),
        format!("http://[::ffff:7f00:1]:{port}/hook"),
        "http://[::ffff:10.0.0.1]/hook".to_owned(),
        "http://[::ffff:169.254.169.254]/hook".to_owned(),
        // https is guarded the same way.
        format!("https://127.0.0.1:{port}/hook"),
    ];
    // Not http(s), not an absolute URL, no host, credentials (URL-GUARD-1):
    // refused the same way.
    let malformed = [
        "ftp://example.com/hook".to_owned(),
        "file:///etc/passwd".to_owned(),
        "gopher://127.0.0.1/".to_owned(),
        "not a url".to_owned(),
        "/relative/path".to_owned(),
        "http://".to_owned(),
        "http://user:pw@example.com/hook".to_owned(),
    ];
    for url in forms.iter().chain(&malformed) {
        let problem = assert_problem(submit(&server, url), 422, "url-not-allowed");
        assert!(problem["detail"].is_string(), "{url}: {problem}");
        assert!(
            problem.get("errors").is_none(),
            "URL-GUARD-6: no errors member for the callback URL: {problem}"
        );
    }
    // No job was made, so nothing can ever be delivered.
    assert!(list(&server).is_empty(), "refused starts made jobs");
    holds_for(
        "the receiver is never contacted",
        Duration::from_millis(300),
        || receiver.count() == 0,
    );
}

#[test]
fn acceptance_4_a_host_name_that_resolves_to_loopback_is_refused_and_never_contacted() {
    let receiver = Receiver::start();
    let server = Server::start();
    for url in [
        receiver.url("/hook").replace("127.0.0.1", "localhost"),
        receiver.url("/hook").replace("127.0.0.1", "LOCALHOST"),
    ] {
        assert_problem(submit(&server, &url), 422, "url-not-allowed");
        // GET delivery is guarded the same way.
        assert_problem(
            server.start_job(
                "probe",
                &with_callback(quick(), json!({"url": url, "method": "GET"})),
            ),
            422,
            "url-not-allowed",
        );
    }
    // A job that can run (no callback) still runs: the refusal is about the URL.
    let doc = server.started("probe", &json!({"params": quick()}));
    assert!(
        doc.get("callback").is_none(),
        "CALLBACK-21: no callback member without a callback: {doc}"
    );
    let id = id_of(&doc);
    await_terminal(&server, &id);
    assert_eq!(list(&server).len(), 1);
    holds_for(
        "the receiver is never contacted",
        Duration::from_millis(300),
        || receiver.count() == 0,
    );
}

#[test]
fn url_guard_allowing_private_networks_lifts_the_guard() {
    let receiver = Receiver::start();
    let server = Server::start_with(LOOPBACK);
    let url = receiver.url("/hook").replace("127.0.0.1", "localhost");
    let id = quick_with(&server, json!({ "url": url }));
    await_callback(&server, &id, "delivered");
    assert_eq!(receiver.attempts_to("/hook").len(), 1);
}
