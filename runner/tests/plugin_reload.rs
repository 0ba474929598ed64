//! Hot reload of the plugins directory, through the HTTP API of a runner
//! started in-process: a plugin dropped into the directory is offered, a
//! replaced one serves new jobs while a running attempt finishes on the
//! version it started with, a removed one is withdrawn (and a job still
//! queued for it fails), a replacement that does not load leaves the previous
//! version offered, and the first file by name wins an operation name.
//!
//! The plugin moved around is the test-only `hostile` plugin (its operation
//! name is not one of the bundled ones). A changed but still valid version of
//! it is the same component with a custom section appended.

use std::path::Path;
use std::time::{Duration, Instant};

use longrun::config::Config;
use longrun::server::Server;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

/// How long anything may take before the test fails; generous, as a changed
/// plugin is compiled afresh on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(120);

/// A runner serving in this process, with a plugins directory it watches.
struct Runner {
    base: String,
    plugins: tempfile::TempDir,
    scans: watch::Receiver<u64>,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _data: tempfile::TempDir,
}

/// The hostile test plugin's component bytes.
fn hostile() -> Vec<u8> {
    std::fs::read(env!("LONGRUN_HOSTILE_WASM")).expect("the hostile test plugin was built")
}

/// `wasm` with a custom section appended: another, still valid component
/// that offers the same operation.
fn changed(wasm: &[u8]) -> Vec<u8> {
    fn leb128(mut n: usize, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    let name = b"longrun-reload-test";
    let mut content = Vec::new();
    leb128(name.len(), &mut content);
    content.extend_from_slice(name);
    content.extend_from_slice(b"a changed build");
    let mut out = wasm.to_vec();
    out.push(0);
    leb128(content.len(), &mut out);
    out.extend_from_slice(&content);
    out
}

/// The lowercase hex SHA-256 of `bytes`.
fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Put `bytes` into `dir/name` at once: written beside it, then renamed, so a
/// scan never sees half a file unless a test means it to.
fn put(dir: &Path, name: &str, bytes: &[u8]) {
    let partial = dir.join(format!(".{name}.partial"));
    std::fs::write(&partial, bytes).expect("write the plugin file");
    std::fs::rename(&partial, dir.join(name)).expect("move the plugin file into place");
}

/// Poll `check` until it gives `Some`, or fail with `what` at the deadline.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Runner {
    /// Start a runner with `workers` workers whose plugins directory holds
    /// `files` (name, bytes), watched every 20 ms.
    async fn start(workers: usize, files: &[(&str, &[u8])]) -> Runner {
        let data = tempfile::tempdir().expect("a temporary directory");
        let plugins = tempfile::tempdir().expect("a temporary directory");
        for (name, bytes) in files {
            put(plugins.path(), name, bytes);
        }
        let config = Config {
            listen: "127.0.0.1:0".parse().expect("an address"),
            data_dir: data.path().join("data"),
            plugins_dir: Some(plugins.path().to_path_buf()),
            plugins_poll_interval: Duration::from_millis(20),
            // Shared by the runners of the tests: each plugin compiles once.
            cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("longrun-component-cache")),
            workers,
            memory_limit_bytes: 64 * 1024 * 1024,
            ..Config::default()
        };
        let server = Server::start(config).await.expect("the runner starts");
        let scans = server
            .plugin_scans()
            .expect("the plugins directory is watched");
        let base = format!("http://{}", server.local_addr);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.serve(async {
            let _ = stopped.await;
        }));
        Runner {
            base,
            plugins,
            scans,
            client: reqwest::Client::new(),
            _stop: stop,
            _data: data,
        }
    }

    fn dir(&self) -> &Path {
        self.plugins.path()
    }

    /// `GET path`: the status and the JSON body (`null` if none).
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("a GET");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body: the status and the JSON body.
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("a POST");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// The `pluginSha256` of the offered `hostile` operation, if offered.
    async fn offered(&self) -> Option<String> {
        match self.get("/v1/operations/hostile").await {
            (200, op) => Some(op["pluginSha256"].as_str()?.to_owned()),
            _ => None,
        }
    }

    /// Wait until `hostile` is offered with the plugin `sha`.
    async fn until_offered(&self, sha: &str) -> Value {
        eventually(
            &format!("hostile to be offered as {sha}"),
            async || match self.get("/v1/operations/hostile").await {
                (200, op) if op["pluginSha256"] == sha => Some(op),
                _ => None,
            },
        )
        .await
    }

    /// Wait until two scans have completed: the second has seen every change
    /// made to the directory before this was called.
    async fn two_scans(&mut self) {
        let seen = *self.scans.borrow_and_update();
        tokio::time::timeout(DEADLINE, self.scans.wait_for(|n| *n >= seen + 2))
            .await
            .expect("the plugins directory is scanned in time")
            .expect("the watch runs");
    }

    /// Start a `hostile` job in `mode`; its `202` document.
    async fn start_hostile(&self, mode: &str) -> Value {
        let (status, doc) = self
            .post(
                "/v1/operations/hostile/jobs",
                &json!({"params": {"mode": mode}, "timeoutSeconds": 600}),
            )
            .await;
        assert_eq!(status, 202, "start a hostile job: {doc}");
        doc
    }

    /// The document of job `id` once `done` holds for it.
    async fn job_until(&self, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        eventually(&format!("job {id} to be {what}"), async || {
            let (status, doc) = self.get(&format!("/v1/jobs/{id}")).await;
            (status == 200 && done(&doc)).then_some(doc)
        })
        .await
    }

    /// The document of job `id` once it is terminal.
    async fn finished(&self, id: &str) -> Value {
        self.job_until(id, "terminal", |doc| {
            matches!(
                doc["status"].as_str(),
                Some("succeeded" | "failed" | "canceled")
            )
        })
        .await
    }

    /// Cancel job `id`; its canceled document.
    async fn cancel(&self, id: &str) -> Value {
        let (status, doc) = self
            .post(&format!("/v1/jobs/{id}/cancel"), &json!({}))
            .await;
        assert_eq!(status, 200, "cancel {id}: {doc}");
        assert_eq!(doc["status"], "canceled", "{doc}");
        doc
    }

    /// The text of job `id`'s log.
    async fn log(&self, id: &str) -> String {
        self.client
            .get(format!("{}/v1/jobs/{id}/log", self.base))
            .send()
            .await
            .expect("a GET of the log")
            .text()
            .await
            .expect("the log")
    }
}

/// The id of a job document.
fn id(doc: &Value) -> String {
    doc["id"].as_str().expect("a job id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_dropped_in_is_offered_and_a_removed_one_is_withdrawn() {
    let wasm = hostile();
    let sha = sha256(&wasm);
    let runner = Runner::start(1, &[]).await;
    assert_eq!(runner.offered().await, None, "nothing in the directory yet");

    put(runner.dir(), "hostile.wasm", &wasm);
    let op = runner.until_offered(&sha).await;
    let version = op["version"].clone();
    let (_, list) = runner.get("/v1/operations").await;
    assert!(
        list["operations"]
            .as_array()
            .expect("a list")
            .iter()
            .any(|op| op["name"] == "hostile"),
        "{list}"
    );

    // One job holds the only worker, so the next one stays queued.
    let running = runner.start_hostile("spin").await;
    runner
        .job_until(&id(&running), "running", |doc| doc["status"] == "running")
        .await;
    let queued = runner.start_hostile("ok").await;
    assert_eq!(queued["status"], "queued", "{queued}");
    assert_eq!(queued["pluginSha256"], sha, "{queued}");
    assert_eq!(queued["operationVersion"], version, "{queued}");

    std::fs::remove_file(runner.dir().join("hostile.wasm")).expect("remove the plugin");
    eventually("hostile to be withdrawn", async || {
        (runner.get("/v1/operations/hostile").await.0 == 404).then_some(())
    })
    .await;
    let (status, problem) = runner
        .post(
            "/v1/operations/hostile/jobs",
            &json!({"params": {"mode": "ok"}}),
        )
        .await;
    assert_eq!(status, 404, "{problem}");
    assert_eq!(
        problem["type"], "urn:longrun:problem:operation-not-found",
        "{problem}"
    );

    // The running attempt still runs on the plugin it started with.
    let (_, doc) = runner.get(&format!("/v1/jobs/{}", id(&running))).await;
    assert_eq!(doc["status"], "running", "{doc}");
    let canceled = runner.cancel(&id(&running)).await;
    assert_eq!(canceled["pluginSha256"], sha, "{canceled}");

    // The queued job's attempt finds its operation gone.
    let failed = runner.finished(&id(&queued)).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(
        failed["error"]["type"], "urn:longrun:problem:runner-error",
        "{failed}"
    );
    assert_eq!(
        failed["error"]["detail"], "operation `hostile` is no longer offered",
        "{failed}"
    );
    assert_eq!(failed["pluginSha256"], sha, "{failed}");
    assert!(
        runner
            .log(&id(&queued))
            .await
            .contains("operation `hostile` is no longer offered"),
        "the job's log says why it failed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_plugin_serves_new_attempts_while_a_running_one_keeps_the_old() {
    let old = hostile();
    let new = changed(&old);
    let (old_sha, new_sha) = (sha256(&old), sha256(&new));
    let runner = Runner::start(1, &[("hostile.wasm", &old)]).await;
    runner.until_offered(&old_sha).await;

    let running = runner.start_hostile("spin").await;
    runner
        .job_until(&id(&running), "running", |doc| doc["status"] == "running")
        .await;
    let queued = runner.start_hostile("ok").await;
    assert_eq!(queued["status"], "queued", "{queued}");
    assert_eq!(queued["pluginSha256"], old_sha, "{queued}");

    put(runner.dir(), "hostile.wasm", &new);
    runner.until_offered(&new_sha).await;
    // Accepted now: the job names the plugin offered now.
    let later = runner.start_hostile("ok").await;
    assert_eq!(later["pluginSha256"], new_sha, "{later}");

    let (_, doc) = runner.get(&format!("/v1/jobs/{}", id(&running))).await;
    assert_eq!(doc["status"], "running", "{doc}");
    assert_eq!(doc["pluginSha256"], old_sha, "{doc}");
    let canceled = runner.cancel(&id(&running)).await;
    assert_eq!(canceled["pluginSha256"], old_sha, "{canceled}");
    assert!(
        runner
            .log(&id(&running))
            .await
            .contains(&format!("plugin sha256 {old_sha}")),
        "the running attempt's log names the plugin it ran on"
    );

    // The queued job's attempt starts on the plugin offered then.
    for job in [&queued, &later] {
        let done = runner.finished(&id(job)).await;
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["pluginSha256"], new_sha, "{done}");
        assert!(
            runner
                .log(&id(job))
                .await
                .contains(&format!("plugin sha256 {new_sha}")),
            "the attempt's log names the new plugin"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replacement_that_does_not_load_keeps_the_previous_version() {
    let old = hostile();
    let new = changed(&old);
    let (old_sha, new_sha) = (sha256(&old), sha256(&new));
    let mut runner = Runner::start(1, &[("hostile.wasm", &old)]).await;
    runner.until_offered(&old_sha).await;
    let (_, before) = runner.get("/v1/operations").await;

    // Half a copy of the new version, and a new file that is no plugin.
    put(runner.dir(), "hostile.wasm", &new[..new.len() / 2]);
    put(
        runner.dir(),
        "broken.wasm",
        b"\0asm\x0d\x00\x01\x00 not a component",
    );
    runner.two_scans().await;
    assert_eq!(runner.offered().await.as_deref(), Some(old_sha.as_str()));
    let (_, after) = runner.get("/v1/operations").await;
    assert_eq!(after, before, "the operations on offer are unchanged");
    let job = runner.start_hostile("ok").await;
    let done = runner.finished(&id(&job)).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["pluginSha256"], old_sha, "{done}");

    // The copy completes: the new version is offered.
    put(runner.dir(), "hostile.wasm", &new);
    runner.until_offered(&new_sha).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_file_by_name_offers_an_operation_name() {
    let old = hostile();
    let new = changed(&old);
    let (old_sha, new_sha) = (sha256(&old), sha256(&new));
    let runner = Runner::start(1, &[("a.wasm", &old), ("b.wasm", &new)]).await;
    runner.until_offered(&old_sha).await;

    std::fs::remove_file(runner.dir().join("a.wasm")).expect("remove a.wasm");
    runner.until_offered(&new_sha).await;

    put(runner.dir(), "a.wasm", &old);
    runner.until_offered(&old_sha).await;
}

#[tokio::test]
async fn bundled_operations_win_and_other_files_are_ignored() {
    let (_, probe) = longrun::plugin::bundled()
        .iter()
        .find(|(name, _)| *name == "probe")
        .expect("probe is bundled");
    let copy = changed(probe);
    let hostile = hostile();
    let runner = Runner::start(
        1,
        &[
            ("a-probe.wasm", &copy),
            ("notes.txt", b"not a plugin"),
            ("hostile.wasm", &hostile),
        ],
    )
    .await;
    runner.until_offered(&sha256(&hostile)).await;
    let (status, op) = runner.get("/v1/operations/probe").await;
    assert_eq!(status, 200);
    assert_eq!(op["pluginSha256"], sha256(probe), "the bundled probe stays");
    let (_, list) = runner.get("/v1/operations").await;
    let names: Vec<&str> = list["operations"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|op| op["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "hostile",
            "json-compare",
            "json-merge",
            "probe",
            "text-diff"
        ]
    );
}
