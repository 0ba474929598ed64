//! Section 11: listing jobs (`GET /v1/jobs`).
//!
//! The checks cover the shape and order of a page (LIST-1), the `status`,
//! `operation`, `createdAfter` and `createdBefore` filters (LIST-2 to
//! LIST-4), `limit`, `next`, the `Link` header and cursors (LIST-5 to LIST-7),
//! walking every page (LIST-8), and that listed jobs are their documents
//! (LIST-9).
//!
//! Other checks create jobs while these run, so every query is restricted to
//! jobs created after a moment just before the check's own first job
//! (`createdAfter`), and assertions about which jobs are listed speak only of
//! the check's own jobs.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::check::{Check, Finding, Outcome};
use crate::checks::document::without_expiry;
use crate::checks::document::{failing_params, get_doc, quick_params, time_of};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;
use crate::jobs::{Job, hold_params, is_terminal};
use crate::timestamps::format_gen2;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "list.page",
        title: "GET /v1/jobs answers {jobs, next}, newest first by createdAt, then id",
        class: "list",
        requirements: &["LIST-1", "GEN-5", "GEN-2", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(page_check(ctx)),
    },
    Check {
        id: "list.filters",
        title: "the status, operation, createdAfter and createdBefore filters select exactly the matching jobs",
        class: "list",
        requirements: &["LIST-2", "LIST-3", "LIST-4", "LIST-1", "GEN-2", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(filters(ctx)),
    },
    Check {
        id: "list.bad-params",
        title: "a bad status, time, limit or cursor answers 400 malformed-request",
        class: "list",
        requirements: &["LIST-2", "LIST-4", "LIST-5", "LIST-7", "ERR-1"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(bad_params(ctx)),
    },
    Check {
        id: "list.paging",
        title: "pages hold at most limit jobs; next and Link rel=next lead through every matching job once",
        class: "list",
        requirements: &["LIST-5", "LIST-6", "LIST-8", "LIST-1", "GEN-2", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(paging(ctx)),
    },
    Check {
        id: "list.documents",
        title: "listed jobs are their documents as GET gives them, listing is not a use, deleted jobs are not listed",
        class: "list",
        requirements: &["LIST-9", "LIST-1", "GEN-2", "JOB-DOC-1"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(documents(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// Query parameters, in order.
type Query = Vec<(&'static str, String)>;

/// How many pages a walk follows at most.
const MAX_PAGES: usize = 500;

/// `/v1/jobs?<pairs>`, URL-encoded.
fn list_url(pairs: &[(&str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        query.append_pair(k, v);
    }
    format!("/v1/jobs?{}", query.finish())
}

/// One page of the list.
struct Page {
    response: Response,
    jobs: Vec<Value>,
    next: Option<String>,
}

/// `GET` one page and judge its shape (LIST-1).
async fn page(ctx: &Ctx, url: &str) -> Result<Page, Finding> {
    let response = ctx.get(url).send().await?;
    ensure!(
        response.status == 200,
        "LIST-1",
        "GET {url} answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let body = response.json_object("LIST-1")?;
    let jobs = body["jobs"].as_array().cloned();
    ensure!(
        jobs.as_ref()
            .is_some_and(|jobs| jobs.iter().all(Value::is_object)),
        "LIST-1",
        "GET {url}: `jobs` is {}, expected an array of job documents",
        body["jobs"]
    );
    ensure!(
        body.get("next").is_some() && (body["next"].is_null() || body["next"].is_string()),
        "LIST-1",
        "GET {url}: `next` is {:?}, expected a URL or null",
        body.get("next")
    );
    let jobs = jobs.unwrap_or_default();
    judge_order(&jobs, url)?;
    Ok(Page {
        next: body["next"].as_str().map(str::to_owned),
        jobs,
        response,
    })
}

/// LIST-1: `createdAt` descending, then `id` descending.
fn judge_order(jobs: &[Value], url: &str) -> Outcome {
    for pair in jobs.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let (Some(ta), Some(tb)) = (time_of(a, "createdAt"), time_of(b, "createdAt")) else {
            continue;
        };
        let (ia, ib) = (
            a["id"].as_str().unwrap_or(""),
            b["id"].as_str().unwrap_or(""),
        );
        ensure!(
            ta > tb || (ta == tb && ia > ib),
            "LIST-1",
            "GET {url} lists {ia} (createdAt {}) before {ib} (createdAt {}), expected createdAt descending, then id descending",
            a["createdAt"],
            b["createdAt"]
        );
    }
    Ok(())
}

/// Every page from `url` on, following `next`.
async fn walk(ctx: &Ctx, url: &str) -> Result<Vec<Page>, Finding> {
    let mut pages = Vec::new();
    let mut url = url.to_owned();
    loop {
        let p = page(ctx, &url).await?;
        let next = p.next.clone();
        pages.push(p);
        match next {
            Some(next) if pages.len() < MAX_PAGES => url = next,
            Some(_) => {
                return Err(Finding::error(format!(
                    "the walk did not end after {MAX_PAGES} pages"
                )));
            }
            None => return Ok(pages),
        }
    }
}

/// Every job of every page from `url` on.
async fn all_jobs(ctx: &Ctx, url: &str) -> Result<Vec<Value>, Finding> {
    Ok(walk(ctx, url)
        .await?
        .into_iter()
        .flat_map(|p| p.jobs)
        .collect())
}

/// Start a probe job and wait until it is terminal; its final document.
async fn finished(ctx: &Ctx, params: Value) -> Result<(Job, Value), Finding> {
    let job = ctx.start_probe(params).await?;
    let doc = ctx.wait_setup(&job.url, "terminal", is_terminal).await?;
    Ok((job, doc))
}

/// A moment just before the job was created, for `createdAfter`.
fn just_before(doc: &Value) -> Result<String, Finding> {
    let created = time_of(doc, "createdAt").ok_or_else(|| {
        Finding::violation(
            "GEN-2",
            format!(
                "createdAt is {}, expected an RFC 3339 UTC time",
                doc["createdAt"]
            ),
        )
    })?;
    Ok(format_gen2(created - time::Duration::milliseconds(1)))
}

/// The ids of `docs` in the order of LIST-1: `createdAt` descending, then
/// `id` descending.
fn newest_first(docs: &[Value]) -> Vec<String> {
    let mut docs = docs.to_vec();
    docs.sort_by(|a, b| {
        let key = |d: &Value| (time_of(d, "createdAt"), d["id"].as_str().map(str::to_owned));
        key(b).cmp(&key(a))
    });
    ids(&docs)
}

/// The ids of `docs`.
fn ids(docs: &[Value]) -> Vec<String> {
    docs.iter()
        .filter_map(|d| d["id"].as_str().map(str::to_owned))
        .collect()
}

/// The targets of the `Link` header's links with relation `rel`.
fn links(response: &Response, rel: &str) -> Vec<String> {
    let mut out = Vec::new();
    for value in response.header_all("link") {
        let mut rest = value;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>') else {
                break;
            };
            let target = &rest[open + 1..open + close];
            // The parameters run to the next comma outside quotes.
            let after = &rest[open + close + 1..];
            let mut quoted = false;
            let mut end = after.len();
            for (i, c) in after.char_indices() {
                match c {
                    '"' => quoted = !quoted,
                    ',' if !quoted => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            let params = &after[..end];
            let has_rel = params.split(';').any(|p| {
                let p = p.trim();
                p.split_once('=').is_some_and(|(k, v)| {
                    k.trim().eq_ignore_ascii_case("rel")
                        && v.trim()
                            .trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case(rel))
                })
            });
            if has_rel {
                out.push(target.to_owned());
            }
            rest = &after[end..];
        }
    }
    out
}

async fn page_check(ctx: Ctx) -> Outcome {
    let response = ctx.get("/v1/jobs").send().await?;
    ensure!(
        response.status == 200,
        "LIST-1",
        "GET /v1/jobs answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "GET /v1/jobs has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    page(&ctx, "/v1/jobs").await?;

    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(finished(&ctx, quick_params()).await?.1);
    }
    let after = just_before(&mine[0])?;
    let listed = all_jobs(
        &ctx,
        &list_url(&[
            ("createdAfter", after),
            ("operation", ctx.probe().to_owned()),
            ("limit", ctx.limits().max_page_size.to_string()),
        ]),
    )
    .await?;
    let expected = newest_first(&mine);
    let seen: Vec<String> = ids(&listed)
        .into_iter()
        .filter(|id| expected.contains(id))
        .collect();
    ensure!(
        seen == expected,
        "LIST-1",
        "the suite's three jobs are listed as {seen:?}, expected {expected:?} (newest first)"
    );
    Ok(())
}

/// Every job a filtered listing returns (all pages), and which of `mine`
/// are among them.
async fn mine_listed(
    ctx: &Ctx,
    pairs: &[(&str, String)],
    mine: &[String],
) -> Result<(Vec<Value>, HashSet<String>), Finding> {
    let listed = all_jobs(ctx, &list_url(pairs)).await?;
    let found = ids(&listed)
        .into_iter()
        .filter(|id| mine.contains(id))
        .collect();
    Ok((listed, found))
}

fn set(items: &[&String]) -> HashSet<String> {
    items.iter().map(|s| (*s).clone()).collect()
}

async fn filters(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let max = ctx.limits().max_page_size.to_string();
    let (_, a) = finished(&ctx, quick_params()).await?;
    let (_, b) = finished(&ctx, failing_params()).await?;
    let c_job = ctx.start_probe(hold_params()).await?;
    let c = ctx
        .wait_setup(&c_job.url, "running", |d| d["status"] == "running")
        .await?;
    if a["status"] != "succeeded" || b["status"] != "failed" {
        return Err(Finding::error(format!(
            "the probe jobs ended {} and {}, expected succeeded and failed",
            a["status"], b["status"]
        )));
    }
    let docs = [a.clone(), b.clone(), c.clone()];
    let mine = ids(&docs);
    let (ia, ib, ic) = (&mine[0], &mine[1], &mine[2]);
    let status_of: BTreeMap<String, String> = docs
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap_or("").to_owned(),
                d["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let after = just_before(&a)?;
    let base = |extra: &[(&'static str, &str)]| -> Query {
        let mut pairs = vec![("createdAfter", after.clone()), ("limit", max.clone())];
        pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        pairs
    };

    // LIST-2: status, one value, comma lists, repeats and empty items.
    let cases: Vec<(Query, HashSet<String>, &[&str])> = vec![
        (base(&[("status", "succeeded")]), set(&[ia]), &["succeeded"]),
        (base(&[("status", "failed")]), set(&[ib]), &["failed"]),
        (base(&[("status", "running")]), set(&[ic]), &["running"]),
        (
            base(&[("status", "succeeded,failed")]),
            set(&[ia, ib]),
            &["succeeded", "failed"],
        ),
        (
            base(&[("status", "succeeded"), ("status", "running")]),
            set(&[ia, ic]),
            &["succeeded", "running"],
        ),
        (base(&[("status", ",failed,,")]), set(&[ib]), &["failed"]),
        (
            base(&[("status", "queued,canceled")]),
            HashSet::new(),
            &["queued", "canceled"],
        ),
    ];
    for (pairs, want, statuses) in cases {
        let query = list_url(&pairs);
        let (listed, found) = mine_listed(&ctx, &pairs, &mine).await?;
        ensure!(
            found == want,
            "LIST-2",
            "GET {query} lists {found:?} of the suite's jobs (statuses {status_of:?}), expected {want:?}"
        );
        for doc in &listed {
            let id = doc["id"].as_str().unwrap_or("");
            if mine.iter().any(|m| m == id) {
                ensure!(
                    statuses.iter().any(|s| doc["status"] == *s),
                    "LIST-2",
                    "GET {query} lists the {} job {id}",
                    doc["status"]
                );
            }
        }
    }

    // LIST-3: operation.
    let pairs = base(&[("operation", probe.as_str())]);
    let (listed, found) = mine_listed(&ctx, &pairs, &mine).await?;
    ensure!(
        found == set(&[ia, ib, ic]),
        "LIST-3",
        "GET {} lists {found:?} of the suite's three {probe} jobs, expected all",
        list_url(&pairs)
    );
    for doc in &listed {
        ensure!(
            doc["operation"] == probe.as_str(),
            "LIST-3",
            "GET {} lists the job {} of operation {}",
            list_url(&pairs),
            doc["id"],
            doc["operation"]
        );
    }
    let unknown = format!(
        "conformance-no-such-operation-{}",
        uuid::Uuid::now_v7().simple()
    );
    let pairs = vec![("operation", unknown.clone())];
    let response = ctx.get(&list_url(&pairs)).send().await?;
    ensure!(
        response.status == 200,
        "LIST-3",
        "GET {} (an operation that is not loaded) answered {}, expected 200 with no jobs: {}",
        list_url(&pairs),
        response.status,
        show_body(&response.body)
    );
    let body = response.json_object("LIST-1")?;
    ensure!(
        body["jobs"].as_array().is_some_and(Vec::is_empty),
        "LIST-3",
        "GET {} (an operation that is not loaded) lists {} jobs, expected none",
        list_url(&pairs),
        body["jobs"].as_array().map_or(0, Vec::len)
    );

    // LIST-4: createdAfter and createdBefore are strict; any offset.
    let times: Vec<OffsetDateTime> = docs
        .iter()
        .map(|d| time_of(d, "createdAt"))
        .collect::<Option<_>>()
        .ok_or_else(|| Finding::error("a createdAt that does not parse"))?;
    let pivot = times[1];
    let pivot_text = b["createdAt"].as_str().unwrap_or("").to_owned();
    let shifted = pivot
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).expect("an offset"))
        .format(&Rfc3339)
        .map_err(|e| Finding::error(format!("formatting a time: {e}")))?;
    let which = |keep: &dyn Fn(OffsetDateTime) -> bool| -> HashSet<String> {
        mine.iter()
            .zip(&times)
            .filter(|(_, t)| keep(**t))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let cases: Vec<(Query, HashSet<String>)> = vec![
        (
            vec![("createdAfter", pivot_text.clone()), ("limit", max.clone())],
            which(&|t| t > pivot),
        ),
        (
            vec![("createdAfter", shifted.clone()), ("limit", max.clone())],
            which(&|t| t > pivot),
        ),
        (
            base(&[("createdBefore", pivot_text.as_str())]),
            which(&|t| t < pivot),
        ),
        (
            base(&[("createdBefore", shifted.as_str())]),
            which(&|t| t < pivot),
        ),
        (
            base(&[("createdBefore", "2999-01-01T00:00:00Z")]),
            set(&[ia, ib, ic]),
        ),
    ];
    for (pairs, want) in cases {
        let (listed, found) = mine_listed(&ctx, &pairs, &mine).await?;
        ensure!(
            found == want,
            "LIST-4",
            "GET {} lists {found:?} of the suite's jobs (created {:?}), expected {want:?}",
            list_url(&pairs),
            docs.iter()
                .map(|d| d["createdAt"].clone())
                .collect::<Vec<_>>()
        );
        for doc in &listed {
            let Some(t) = time_of(doc, "createdAt") else {
                continue;
            };
            for (key, value) in &pairs {
                let Ok(bound) = OffsetDateTime::parse(value, &Rfc3339) else {
                    continue;
                };
                let ok = match *key {
                    "createdAfter" => t > bound,
                    "createdBefore" => t < bound,
                    _ => true,
                };
                ensure!(
                    ok,
                    "LIST-4",
                    "GET {} lists the job {} created at {}",
                    list_url(&pairs),
                    doc["id"],
                    doc["createdAt"]
                );
            }
        }
    }
    Ok(())
}

async fn bad_params(ctx: Ctx) -> Outcome {
    let max = ctx.limits().max_page_size;
    let mut cases: Vec<(&str, String, &'static str)> = Vec::new();
    for v in ["bogus", "succeeded,bogus", "active", "SUCCEEDED"] {
        cases.push(("status", v.to_owned(), "LIST-2"));
    }
    for v in [
        "yesterday",
        "2026-01-01",
        "2026-01-01T00:00:00",
        "2026-13-01T00:00:00Z",
        "1700000000",
        "",
    ] {
        cases.push(("createdAfter", v.to_owned(), "LIST-4"));
        cases.push(("createdBefore", v.to_owned(), "LIST-4"));
    }
    for v in [
        "0".to_owned(),
        (max + 1).to_string(),
        "-1".to_owned(),
        "abc".to_owned(),
        "2.5".to_owned(),
        String::new(),
    ] {
        cases.push(("limit", v, "LIST-5"));
    }
    for v in ["!!!", "not a cursor", "\u{0}"] {
        cases.push(("cursor", v.to_owned(), "LIST-7"));
    }
    for (key, value, requirement) in cases {
        let url = list_url(&[(key, value.clone())]);
        let response = ctx.get(&url).send().await?;
        if response.status == 400 && response.problem_kind().as_deref() == Some("malformed-request")
        {
            response.expect_problem(400, "malformed-request", requirement)?;
            continue;
        }
        let message = format!(
            "GET {url} ({key}={value:?}) answered {} with {}, expected 400 malformed-request",
            response.status,
            show_body(&response.body)
        );
        return Err(Finding::violation(requirement, message));
    }
    Ok(())
}

async fn paging(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let mut mine = Vec::new();
    for _ in 0..5 {
        mine.push(finished(&ctx, quick_params()).await?.1);
    }
    if let Some(bad) = mine.iter().find(|d| d["status"] != "succeeded") {
        return Err(Finding::error(format!(
            "a quick probe job ended {}: {bad}",
            bad["status"]
        )));
    }
    let after = just_before(&mine[0])?;
    let want = newest_first(&mine);
    let mine = ids(&mine);
    let pairs: Vec<(&str, String)> = vec![
        ("createdAfter", after),
        ("operation", probe),
        ("status", "succeeded".to_owned()),
        ("limit", "2".to_owned()),
    ];
    let first = list_url(&pairs);
    let pages = walk(&ctx, &first).await?;
    let mut walked: Vec<String> = Vec::new();
    for (n, p) in pages.iter().enumerate() {
        ensure!(
            p.jobs.len() <= 2,
            "LIST-5",
            "page {} of {first} holds {} jobs, but limit is 2",
            n + 1,
            p.jobs.len()
        );
        let rel_next = links(&p.response, "next");
        match &p.next {
            Some(next) => {
                ensure!(
                    next.starts_with("http://") || next.starts_with("https://"),
                    "LIST-6",
                    "next is {next:?}, expected an absolute URL"
                );
                let parsed = url::Url::parse(next).map_err(|e| {
                    Finding::violation("LIST-6", format!("next {next:?} is not a URL: {e}"))
                })?;
                ensure!(
                    parsed.path().ends_with("/v1/jobs"),
                    "LIST-6",
                    "next is {next:?}, expected the URL of /v1/jobs"
                );
                let query: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
                for (key, value) in &pairs {
                    ensure!(
                        query.iter().any(|(k, v)| k == key && v == value),
                        "LIST-6",
                        "next is {next:?}, which does not keep {key}={value}"
                    );
                }
                ensure!(
                    query.iter().any(|(k, v)| k == "cursor" && !v.is_empty()),
                    "LIST-6",
                    "next is {next:?}, which has no cursor"
                );
                ensure!(
                    rel_next == [next.clone()],
                    "LIST-6",
                    "the page with next {next:?} has Link rel=\"next\" targets {rel_next:?}, expected exactly next"
                );
            }
            None => ensure!(
                rel_next.is_empty(),
                "LIST-6",
                "the last page (next null) has Link rel=\"next\" {rel_next:?}, expected none"
            ),
        }
        walked.extend(ids(&p.jobs));
    }
    let mut once = HashSet::new();
    for id in &walked {
        ensure!(
            once.insert(id.clone()),
            "LIST-8",
            "the walk from {first} listed the job {id} more than once"
        );
    }
    for id in &mine {
        ensure!(
            walked.contains(id),
            "LIST-8",
            "the walk from {first} over {} pages never listed the suite's job {id}, which matched during the whole walk",
            pages.len()
        );
    }
    let mine_order: Vec<String> = walked
        .iter()
        .filter(|id| mine.contains(id))
        .cloned()
        .collect();
    ensure!(
        mine_order == want,
        "LIST-1",
        "the walk lists the suite's jobs as {mine_order:?}, expected newest first: {want:?}"
    );

    // limit=1 with more jobs matching: one job and a next page.
    let mut one = pairs.clone();
    one.retain(|(k, _)| *k != "limit");
    one.push(("limit", "1".to_owned()));
    let p = page(&ctx, &list_url(&one)).await?;
    ensure!(
        p.jobs.len() <= 1,
        "LIST-5",
        "GET {} holds {} jobs, but limit is 1",
        list_url(&one),
        p.jobs.len()
    );
    ensure!(
        p.next.is_some() && !links(&p.response, "next").is_empty(),
        "LIST-6",
        "GET {} (five of the suite's jobs match) has next {:?} and Link rel=\"next\" {:?}, expected the next page",
        list_url(&one),
        p.next,
        links(&p.response, "next")
    );
    Ok(())
}

async fn documents(ctx: Ctx) -> Outcome {
    let probe = ctx.probe().to_owned();
    let (first, _) = finished(&ctx, quick_params()).await?;
    let (second, _) = finished(&ctx, quick_params()).await?;
    let (_, doc1) = get_doc(&ctx, &first.url).await?;
    let (response2, doc2) = get_doc(&ctx, &second.url).await?;
    let pairs = vec![
        ("createdAfter", just_before(&doc1)?),
        ("operation", probe),
        ("limit", ctx.limits().max_page_size.to_string()),
    ];
    let url = list_url(&pairs);
    let find = |listed: &[Value], id: &Value| listed.iter().find(|d| d["id"] == *id).cloned();

    let listed = all_jobs(&ctx, &url).await?;
    for doc in [&doc1, &doc2] {
        let entry = find(&listed, &doc["id"]);
        ensure!(
            entry.is_some(),
            "LIST-9",
            "GET {url} does not list the job {}",
            doc["id"]
        );
        let entry = entry.unwrap_or_default();
        ensure!(
            without_expiry(&entry) == without_expiry(doc),
            "LIST-9",
            "the job {} is listed as {entry}, but GET gives {doc}",
            doc["id"]
        );
        ensure!(
            entry["expiresAt"] == doc["expiresAt"],
            "LIST-9",
            "the job {} is listed with expiresAt {}, but the GET just before showed {} (listing is not a use)",
            doc["id"],
            entry["expiresAt"],
            doc["expiresAt"]
        );
    }

    // A second later, listing still shows the deadline of the last use.
    if ctx.claims("expiry")
        && ctx.claims("long-poll")
        && ctx.limits().max_wait_seconds >= 1
        && let Some(tag) = response2.header("etag")
    {
        // Wait a second on the other job, not on this one (a read is a use).
        ctx.get(&format!("{}?waitSeconds=1", second.url))
            .header("If-None-Match", tag)
            .timeout(std::time::Duration::from_secs(1) + ctx.timeouts().request)
            .send()
            .await?;
        let listed = all_jobs(&ctx, &url).await?;
        let entry = find(&listed, &doc1["id"]).unwrap_or_default();
        ensure!(
            entry["expiresAt"] == doc1["expiresAt"],
            "LIST-9",
            "a second after the last use, the job {} is listed with expiresAt {}, but the last use set {} (listing is not a use)",
            doc1["id"],
            entry["expiresAt"],
            doc1["expiresAt"]
        );
    }

    if ctx.claims("delete") {
        let response = ctx.delete(&second.url).send().await?;
        if response.status != 200 {
            return Err(Finding::error(format!(
                "DELETE of a terminal job answered {}: {}",
                response.status,
                show_body(&response.body)
            )));
        }
        let listed = all_jobs(&ctx, &url).await?;
        ensure!(
            find(&listed, &doc2["id"]).is_none(),
            "LIST-9",
            "GET {url} still lists the job {} after it was deleted",
            doc2["id"]
        );
    }
    Ok(())
}
