//! Section 11: listing jobs (LIST-1 to LIST-9).

use std::collections::HashSet;

use serde_json::{Value, json};
use time::UtcOffset;
use time::format_description::well_known::Rfc3339;

use super::common::*;

fn ids(page: &Value) -> Vec<String> {
    page["jobs"].as_array().unwrap().iter().map(id_of).collect()
}

/// Jobs sorted as LIST-1 wants: createdAt descending, then id descending.
fn newest_first(mut docs: Vec<Value>) -> Vec<String> {
    docs.sort_by(|a, b| {
        let key = |d: &Value| (time_of(d, "createdAt"), id_of(d));
        key(b).cmp(&key(a))
    });
    docs.iter().map(id_of).collect()
}

/// Start `n` quick probe jobs and wait for them to finish; their final documents.
fn finished_jobs(server: &Server, n: usize) -> Vec<Value> {
    let ids: Vec<String> = (0..n).map(|_| id_of(&probe(server, quick()))).collect();
    ids.iter().map(|id| await_terminal(server, id)).collect()
}

#[test]
fn list_1_9_newest_first_as_documents() {
    let server = Server::start();
    let response = server.get("/v1/jobs").send().unwrap();
    assert_eq!(response.status(), 200, "LIST-1");
    assert_eq!(
        must_header(&response, "content-type"),
        "application/json",
        "GEN-5"
    );
    let page: Value = response.json().unwrap();
    assert_eq!(page, json!({"jobs": [], "next": null}), "LIST-1");
    let docs = finished_jobs(&server, 6);
    let page = list(&server, "");
    assert_eq!(ids(&page), newest_first(docs.clone()), "LIST-1");
    assert_eq!(page["next"], Value::Null, "LIST-6");
    // LIST-9: each is the document GET gives (GET first: the list is not a use).
    for entry in page["jobs"].as_array().unwrap() {
        let (_, _, got) = get_job(&server, &id_of(entry));
        let again = listed(&server, &id_of(entry)).unwrap();
        assert_eq!(again, got, "LIST-9");
    }
    // A deleted job is not listed (LIST-9, DELETE-3).
    let gone = id_of(&docs[2]);
    assert_eq!(
        client()
            .delete(server.url(&format!("/v1/jobs/{gone}")))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert!(!ids(&list(&server, "")).contains(&gone), "LIST-9");
}

#[test]
fn list_2_3_status_and_operation_filters() {
    let server = Server::start_with(&["--workers", "1"]);
    let succeeded = id_of(&probe(&server, quick()));
    let failed = id_of(&probe(
        &server,
        json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
    ));
    await_terminal(&server, &succeeded);
    await_terminal(&server, &failed);
    let compare = server.started(
        "json-compare",
        &json!({"inputs": {"left": {"json": 1}, "right": {"json": 2}}}),
    );
    let compare = id_of(&compare);
    await_terminal(&server, &compare);
    let running = id_of(&probe(&server, long()));
    await_running(&server, &running);
    let queued = id_of(&probe(&server, quick()));
    let canceled = id_of(&probe(&server, quick()));
    server
        .post_json(&format!("/v1/jobs/{canceled}/cancel"), &json!({}))
        .send()
        .unwrap();
    let set = |query: &str| -> HashSet<String> { ids(&list(&server, query)).into_iter().collect() };
    let of =
        |items: &[&String]| -> HashSet<String> { items.iter().map(|s| (*s).clone()).collect() };
    assert_eq!(
        set("?status=succeeded"),
        of(&[&succeeded, &compare]),
        "LIST-2"
    );
    assert_eq!(set("?status=failed"), of(&[&failed]), "LIST-2");
    assert_eq!(set("?status=running"), of(&[&running]), "LIST-2");
    assert_eq!(set("?status=queued"), of(&[&queued]), "LIST-2");
    assert_eq!(set("?status=canceled"), of(&[&canceled]), "LIST-2");
    assert_eq!(
        set("?status=failed,canceled"),
        of(&[&failed, &canceled]),
        "LIST-2: comma-separated"
    );
    assert_eq!(
        set("?status=failed&status=canceled"),
        of(&[&failed, &canceled]),
        "LIST-2: repeated"
    );
    assert_eq!(
        set("?status=%2Cfailed%2C%2C&status=queued"),
        of(&[&failed, &queued]),
        "LIST-2: empty items"
    );
    assert_eq!(
        set("?status=queued,running"),
        of(&[&queued, &running]),
        "LIST-2"
    );
    assert_eq!(set("").len(), 6);
    for bad in ["bogus", "done", "succeeded,bogus", "active"] {
        problem(
            server
                .get(&format!("/v1/jobs?status={bad}"))
                .send()
                .unwrap(),
            400,
            "malformed-request",
        );
    }
    // LIST-3
    assert_eq!(set("?operation=json-compare"), of(&[&compare]), "LIST-3");
    assert_eq!(set("?operation=probe").len(), 5, "LIST-3");
    assert_eq!(
        set("?operation=no-such-op"),
        HashSet::new(),
        "LIST-3: no error"
    );
    assert_eq!(
        set("?operation=probe&status=succeeded"),
        of(&[&succeeded]),
        "LIST-2/LIST-3"
    );
}

#[test]
fn list_4_created_after_and_before() {
    let server = Server::start();
    let docs = finished_jobs(&server, 5);
    let times: Vec<_> = docs.iter().map(|d| time_of(d, "createdAt")).collect();
    let pivot = docs[2]["createdAt"].as_str().unwrap().to_owned();
    let pivot_time = times[2];
    let expect = |keep: &dyn Fn(&time::OffsetDateTime) -> bool| -> HashSet<String> {
        docs.iter()
            .zip(&times)
            .filter(|(_, t)| keep(t))
            .map(|(d, _)| id_of(d))
            .collect()
    };
    let set =
        |query: String| -> HashSet<String> { ids(&list(&server, &query)).into_iter().collect() };
    let enc = |t: &str| t.replace('+', "%2B");
    assert_eq!(
        set(format!("?createdAfter={pivot}")),
        expect(&|t| *t > pivot_time),
        "LIST-4: strictly after"
    );
    assert_eq!(
        set(format!("?createdBefore={pivot}")),
        expect(&|t| *t < pivot_time),
        "LIST-4: strictly before"
    );
    // Any offset.
    let shifted = pivot_time
        .to_offset(UtcOffset::from_hms(2, 0, 0).unwrap())
        .format(&Rfc3339)
        .unwrap();
    assert!(shifted.contains("+02:00"), "{shifted}");
    assert_eq!(
        set(format!("?createdAfter={}", enc(&shifted))),
        expect(&|t| *t > pivot_time),
        "LIST-4: +02:00"
    );
    let first = docs[0]["createdAt"].as_str().unwrap();
    let last = docs[4]["createdAt"].as_str().unwrap();
    assert_eq!(
        set(format!("?createdAfter={first}&createdBefore={last}")),
        expect(&|t| *t > times[0] && *t < times[4]),
        "LIST-4: both"
    );
    assert_eq!(set("?createdAfter=2000-01-01T00:00:00Z".into()).len(), 5);
    assert_eq!(set("?createdBefore=2000-01-01T00:00:00Z".into()).len(), 0);
    for bad in [
        "yesterday",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "1700000000",
        "",
    ] {
        for key in ["createdAfter", "createdBefore"] {
            problem(
                server.get(&format!("/v1/jobs?{key}={bad}")).send().unwrap(),
                400,
                "malformed-request",
            );
        }
    }
}

#[test]
fn list_5_6_8_limit_and_cursor_paging() {
    let server = Server::start();
    let limits: Value = server.get("/v1").send().unwrap().json().unwrap();
    let max = limits["limits"]["maxPageSize"].as_u64().unwrap();
    for bad in [
        "0".to_owned(),
        (max + 1).to_string(),
        "-1".into(),
        "abc".into(),
        "".into(),
        "2.5".into(),
    ] {
        problem(
            server.get(&format!("/v1/jobs?limit={bad}")).send().unwrap(),
            400,
            "malformed-request",
        );
    }
    let mut docs = finished_jobs(&server, 7);
    docs.push(await_terminal(
        &server,
        &id_of(&probe(
            &server,
            json!({"steps": 1, "fail": {"code": "x", "message": "y"}}),
        )),
    ));
    let all = newest_first(docs[..7].to_vec());
    // Walk with a filter and limit 3.
    let mut url = server.url("/v1/jobs?status=succeeded&operation=probe&limit=3");
    let mut walked = Vec::new();
    let mut pages = 0;
    let mut late = None;
    loop {
        let response = client().get(&url).send().unwrap();
        assert_eq!(response.status(), 200);
        let next_link = link(&response, "next");
        let page: Value = response.json().unwrap();
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 3, "LIST-5");
        walked.extend(page_ids);
        pages += 1;
        // A job created during the walk does not disturb it (LIST-8).
        if late.is_none() {
            late = Some(id_of(&probe(&server, quick())));
        }
        match page["next"].as_str() {
            Some(next) => {
                assert_eq!(
                    next_link.as_deref(),
                    Some(next),
                    "LIST-6: Link rel=next equals next"
                );
                assert!(
                    next.starts_with(&server.url("/v1/jobs?")),
                    "LIST-6/GEN-3: {next}"
                );
                for kept in ["status=succeeded", "operation=probe", "limit=3", "cursor="] {
                    assert!(next.contains(kept), "LIST-6: {next} lacks {kept}");
                }
                url = next.to_owned();
            }
            None => {
                assert!(page["next"].is_null(), "LIST-6");
                assert!(next_link.is_none(), "LIST-6: no rel=next on the last page");
                break;
            }
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3, "7 jobs in pages of 3");
    let late = late.unwrap();
    let walked: Vec<String> = walked.into_iter().filter(|id| *id != late).collect();
    assert_eq!(
        walked, all,
        "LIST-8: every matching job exactly once, in order"
    );
    // Without filters, the default limit fits all 9.
    let page = list(&server, "");
    assert_eq!(page["jobs"].as_array().unwrap().len(), 9);
    assert!(page["next"].is_null());
    // limit=1 pages one by one.
    let response = server.get("/v1/jobs?limit=1").send().unwrap();
    assert!(link(&response, "next").is_some(), "LIST-6");
    let page: Value = response.json().unwrap();
    assert_eq!(page["jobs"].as_array().unwrap().len(), 1, "LIST-5");
}

#[test]
fn list_7_garbage_cursors_are_400() {
    let server = Server::start();
    for cursor in ["!!!", "%00", "not a cursor"] {
        problem(
            server
                .get(&format!("/v1/jobs?cursor={cursor}"))
                .send()
                .unwrap(),
            400,
            "malformed-request",
        );
    }
}

#[test]
fn list_7_cursors_the_server_could_not_have_issued_are_400() {
    let server = Server::start();
    finished_jobs(&server, 2);
    // Base64url text that does not decode to a position the server could
    // have issued.
    for cursor in ["Zm9v", "bm90LWlzc3VlZA"] {
        problem(
            server
                .get(&format!("/v1/jobs?cursor={cursor}"))
                .send()
                .unwrap(),
            400,
            "malformed-request",
        );
    }
}
