//! Tests of the plugin host against real guest components: the bundled
//! plugins and the test-only `hostile` plugin (built by `build.rs`).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::*;

/// A [`RunControl`] that records every call.
#[derive(Default)]
struct Recorder {
    cancelled: AtomicBool,
    progress: Mutex<Vec<ProgressUpdate>>,
    logs: Mutex<Vec<(LogLevel, String)>>,
    outputs: Mutex<Vec<(OutputStream, String, bool)>>,
}

impl Recorder {
    fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
    }

    fn progress(&self) -> Vec<ProgressUpdate> {
        self.progress.lock().unwrap().clone()
    }

    fn logs(&self) -> Vec<(LogLevel, String)> {
        self.logs.lock().unwrap().clone()
    }

    fn output(&self, stream: OutputStream) -> Option<(String, bool)> {
        let outputs = self.outputs.lock().unwrap();
        let mut matching = outputs.iter().filter(|(s, _, _)| *s == stream);
        let found = matching
            .next()
            .map(|(_, text, truncated)| (text.clone(), *truncated));
        assert!(matching.next().is_none(), "{stream:?} delivered twice");
        found
    }
}

impl RunControl for Recorder {
    fn progress(&self, update: ProgressUpdate) {
        self.progress.lock().unwrap().push(update);
    }

    fn log(&self, level: LogLevel, message: &str) {
        self.logs.lock().unwrap().push((level, message.to_owned()));
    }

    fn output(&self, stream: OutputStream, text: &str, truncated: bool) {
        self.outputs
            .lock()
            .unwrap()
            .push((stream, text.to_owned(), truncated));
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// A compile cache shared by the tests (and by test processes, under
/// nextest), so each component compiles once.
fn shared_cache_dir() -> PathBuf {
    std::env::temp_dir().join("longrun-plugin-tests-compile-cache")
}

fn hostile_wasm() -> Vec<u8> {
    std::fs::read(env!("LONGRUN_HOSTILE_WASM")).expect("the hostile test plugin was built")
}

fn bundled_wasm(name: &str) -> &'static [u8] {
    bundled()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, wasm)| *wasm)
        .unwrap()
}

struct Fixture {
    host: PluginHost,
    probe: Plugin,
    json_compare: Plugin,
    hostile: Plugin,
}

/// One host with the three plugins loaded, shared by the tests.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let host = PluginHost::new(HostConfig {
            cache_dir: Some(shared_cache_dir()),
            max_instances: 32,
            ..HostConfig::default()
        })
        .unwrap();
        let probe = host.load("bundled:probe", bundled_wasm("probe")).unwrap();
        let json_compare = host
            .load("bundled:json-compare", bundled_wasm("json-compare"))
            .unwrap();
        let hostile = host.load("test:hostile", &hostile_wasm()).unwrap();
        Fixture {
            host,
            probe,
            json_compare,
            hostile,
        }
    })
}

fn request(params: Value) -> RunRequest {
    RunRequest {
        params_json: params.to_string(),
        inputs: Vec::new(),
        timeout: Duration::from_secs(30),
        result: ResultTarget::Memory,
    }
}

fn hostile(
    plugin: &Plugin,
    mode: &str,
    timeout: Duration,
) -> (Result<Output, RunFailure>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut req = request(json!({ "mode": mode }));
    req.timeout = timeout;
    let result = plugin.run_shared(req, recorder.clone());
    (result, recorder)
}

/// The plugin still works after whatever the previous run did.
fn assert_runs_ok(plugin: &Plugin) {
    let (result, _) = hostile(plugin, "ok", Duration::from_secs(30));
    let output = result.expect("an `ok` run after a failed one succeeds");
    assert_eq!(output.data, ResultData::Bytes(b"ok".to_vec()));
    assert_eq!(output.media_type, "text/plain");
}

#[test]
fn bundled_plugins_describe_themselves() {
    let f = fixture();
    let probe = f.probe.description();
    assert_eq!(probe.name, "probe");
    assert!(!probe.version.is_empty());
    assert_eq!(probe.stages, ["prepare", "work", "finish"]);
    assert_eq!(probe.inputs.len(), 1);
    assert_eq!(probe.inputs[0].name, "data");
    assert!(!probe.inputs[0].required);
    assert_eq!(probe.params_schema["type"], "object");
    assert_eq!(probe.result_media_type, "application/json");
    assert_eq!(f.probe.origin(), "bundled:probe");
    assert_eq!(f.probe.sha256().len(), 64);

    let jc = f.json_compare.description();
    assert_eq!(jc.name, "json-compare");
    let names: Vec<&str> = jc.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["left", "right"]);
    assert!(jc.inputs.iter().all(|i| i.required));
    assert!(jc.params_schema["properties"]["ignoreArrayOrder"].is_object());

    assert_eq!(f.hostile.description().name, "hostile");
    let json = serde_json::to_value(probe).unwrap();
    assert!(json.get("paramsSchema").is_some() && json.get("resultMediaType").is_some());
}

#[test]
fn probe_reports_progress_at_every_step() {
    let f = fixture();
    let recorder = Recorder::default();
    let output = f
        .probe
        .run(request(json!({"steps": 4, "echo": {"x": 1}})), &recorder)
        .unwrap();
    assert_eq!(output.media_type, "application/json");
    let result: Value = serde_json::from_slice(&output.data.into_bytes().unwrap()).unwrap();
    assert_eq!(result["echo"], json!({"x": 1}));
    assert_eq!(result["steps"], 4);

    let progress = recorder.progress();
    let work: Vec<&ProgressUpdate> = progress
        .iter()
        .filter(|p| p.stage.as_deref() == Some("work"))
        .collect();
    let percents: Vec<Option<f64>> = work.iter().map(|p| p.percent).collect();
    assert_eq!(
        percents,
        [Some(25.0), Some(50.0), Some(75.0), Some(100.0)],
        "{progress:?}"
    );
    assert_eq!(work[0].message.as_deref(), Some("step 1 of 4"));
    assert_eq!(progress.first().unwrap().stage.as_deref(), Some("prepare"));
    assert_eq!(progress.last().unwrap().stage.as_deref(), Some("finish"));
}

#[test]
fn probe_passes_its_inputs_and_errors_through() {
    let f = fixture();
    let recorder = Arc::new(Recorder::default());
    let mut req = request(json!({"steps": 1}));
    req.inputs.push(Input {
        name: "data".into(),
        media_type: "text/plain".into(),
        data: b"hello".to_vec().into(),
    });
    let output = f.probe.run_shared(req, recorder).unwrap();
    let result: Value = serde_json::from_slice(&output.data.into_bytes().unwrap()).unwrap();
    assert_eq!(
        result["inputs"],
        json!([{"name": "data", "mediaType": "text/plain", "size": 5}])
    );

    let failure = f
        .probe
        .run_shared(
            request(json!({"steps": 1, "fail": {"code": "boom", "message": "as asked"}})),
            Arc::new(Recorder::default()),
        )
        .unwrap_err();
    assert_eq!(
        failure,
        RunFailure::Plugin {
            code: "boom".into(),
            message: "as asked".into()
        }
    );

    let bytes = f
        .probe
        .run_shared(
            request(json!({"steps": 1, "resultBytes": 1000})),
            Arc::new(Recorder::default()),
        )
        .unwrap();
    assert_eq!(bytes.media_type, "application/octet-stream");
    let data = bytes.data.into_bytes().unwrap();
    assert_eq!(data.len(), 1000);
    assert_eq!(data[252], 1);
}

#[test]
fn a_whole_result_goes_to_the_file_the_request_names() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("result");
    let mut req = request(json!({"steps": 1, "resultBytes": 1000}));
    req.result = ResultTarget::File(path.clone());
    let output = f.probe.run(req, &Recorder::default()).unwrap();
    let written = std::fs::read(&path).unwrap();
    assert_eq!(written.len(), 1000);
    assert_eq!(
        output.data,
        ResultData::File {
            path,
            size: 1000,
            sha256: hex::encode(Sha256::digest(&written)),
        }
    );
}

#[test]
fn json_compare_diffs_two_documents() {
    let f = fixture();
    let input = |name: &str, doc: Value| Input {
        name: name.into(),
        media_type: "application/json".into(),
        data: doc.to_string().into_bytes().into(),
    };
    let req = RunRequest {
        params_json: "{}".into(),
        inputs: vec![
            input("left", json!({"a": 1, "b": [1, 2], "c": "same"})),
            input(
                "right",
                json!({"a": 2, "b": [1, 2], "c": "same", "d": true}),
            ),
        ],
        timeout: Duration::from_secs(30),
        result: ResultTarget::Memory,
    };
    let recorder = Recorder::default();
    let output = f.json_compare.run(req, &recorder).unwrap();
    assert_eq!(output.media_type, "application/json");
    let text = String::from_utf8(output.data.into_bytes().unwrap()).unwrap();
    let result: Value = serde_json::from_str(&text).unwrap();
    assert!(text.contains("\"/a\"") && text.contains("\"/d\""), "{text}");
    assert!(result.is_object(), "{text}");
    assert!(!recorder.progress().is_empty());
}

#[test]
fn plugins_are_run_in_the_world_they_target() {
    let f = fixture();
    assert_eq!(f.probe.world(), "plugin");
    assert_eq!(f.hostile.world(), "plugin");
    assert_eq!(f.json_compare.world(), "chunked-plugin");
}

/// Two JSON documents in files, as the jobs layer passes them.
fn json_files(dir: &std::path::Path, left: &Value, right: &Value) -> Vec<Input> {
    [("left", left), ("right", right)]
        .into_iter()
        .map(|(name, doc)| {
            let path = dir.join(name);
            std::fs::write(&path, doc.to_string()).unwrap();
            Input {
                name: name.into(),
                media_type: "application/json".into(),
                data: InputData::File(path),
            }
        })
        .collect()
}

#[test]
fn a_chunked_plugin_reads_input_files_and_writes_its_result_in_pieces() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    // About 3 MiB per document: several 1 MiB reads each.
    let left: Value = (0..400_000u32).collect::<Vec<_>>().into();
    let right: Value = (0..400_000u32)
        .filter(|n| n % 100_000 != 7)
        .collect::<Vec<_>>()
        .into();
    let result_path = dir.path().join("result");
    let req = RunRequest {
        params_json: "{}".into(),
        inputs: json_files(dir.path(), &left, &right),
        timeout: Duration::from_secs(60),
        result: ResultTarget::File(result_path.clone()),
    };
    let recorder = Recorder::default();
    let output = f.json_compare.run(req, &recorder).unwrap();
    assert_eq!(output.media_type, "application/json", "the description's");
    let written = std::fs::read(&result_path).unwrap();
    let ResultData::File { path, size, sha256 } = output.data else {
        panic!(
            "the result is in the file the request named: {:?}",
            output.data
        );
    };
    assert_eq!(path, result_path);
    assert_eq!(size, written.len() as u64);
    assert_eq!(sha256, hex::encode(Sha256::digest(&written)));
    let result: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(result["summary"]["removed"], 4, "{result}");
    let mut stages: Vec<String> = recorder
        .progress()
        .into_iter()
        .filter_map(|update| update.stage)
        .collect();
    stages.dedup();
    assert_eq!(stages, ["parse", "compare", "render"]);
}

#[test]
fn a_result_past_the_bound_fails_the_run() {
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(shared_cache_dir()),
        max_instances: 2,
        max_result_bytes: 16,
        ..HostConfig::default()
    })
    .unwrap();
    let plugin = host
        .load("bundled:json-compare", bundled_wasm("json-compare"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let req = RunRequest {
        params_json: "{}".into(),
        inputs: json_files(dir.path(), &json!({"a": 1}), &json!({"a": 2})),
        timeout: Duration::from_secs(30),
        result: ResultTarget::Memory,
    };
    match plugin.run(req, &Recorder::default()) {
        Err(RunFailure::Plugin { code, message }) => {
            assert_eq!(code, "result-too-large");
            assert!(message.contains("16 bytes"), "{message}");
        }
        other => panic!("expected result-too-large, got {other:?}"),
    }
}

#[test]
fn a_spinning_plugin_is_stopped_at_its_deadline() {
    let f = fixture();
    let start = Instant::now();
    let (result, _) = hostile(&f.hostile, "spin", Duration::from_secs(1));
    let elapsed = start.elapsed();
    assert_eq!(
        result.unwrap_err(),
        RunFailure::Deadline(Duration::from_secs(1))
    );
    assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_runs_ok(&f.hostile);
}

/// Cancels `recorder` from another thread after 200 ms.
fn cancel_soon(recorder: Arc<Recorder>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        recorder.cancel();
    })
}

#[test]
fn a_spinning_plugin_is_stopped_by_a_cancel() {
    let f = fixture();
    let recorder = Arc::new(Recorder::default());
    let canceller = cancel_soon(recorder.clone());
    let start = Instant::now();
    let result = f.hostile.run_shared(
        request(json!({"mode": "spin"})),
        recorder.clone() as Arc<dyn RunControl>,
    );
    let elapsed = start.elapsed();
    canceller.join().unwrap();
    assert_eq!(result.unwrap_err(), RunFailure::Canceled);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
    assert_runs_ok(&f.hostile);
}

#[test]
fn a_spinning_plugin_is_stopped_by_a_cancel_through_a_borrowed_control() {
    let f = fixture();
    let recorder = Arc::new(Recorder::default());
    let canceller = cancel_soon(recorder.clone());
    let start = Instant::now();
    let result = f.hostile.run(request(json!({"mode": "spin"})), &*recorder);
    let elapsed = start.elapsed();
    canceller.join().unwrap();
    assert_eq!(result.unwrap_err(), RunFailure::Canceled);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_sleeping_plugin_is_stopped_by_a_cancel() {
    let f = fixture();
    let recorder = Arc::new(Recorder::default());
    let canceller = cancel_soon(recorder.clone());
    let start = Instant::now();
    // One step of a minute: the probe sleeps (in slices) for the whole minute.
    let result = f.probe.run(
        request(json!({"durationMs": 60_000, "steps": 1})),
        &*recorder,
    );
    let elapsed = start.elapsed();
    canceller.join().unwrap();
    assert_eq!(result.unwrap_err(), RunFailure::Canceled);
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");
}

#[test]
fn a_run_canceled_before_it_starts_does_not_start() {
    let f = fixture();
    let recorder = Arc::new(Recorder::default());
    recorder.cancel();
    let result = f.probe.run_shared(request(json!({})), recorder.clone());
    assert_eq!(result.unwrap_err(), RunFailure::Canceled);
    assert!(recorder.progress().is_empty());
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let host = PluginHost::new(HostConfig {
        cache_dir: Some(shared_cache_dir()),
        memory_limit_bytes: 64 << 20,
        max_instances: 2,
        ..HostConfig::default()
    })
    .unwrap();
    let plugin = host.load("test:hostile", &hostile_wasm()).unwrap();
    let (result, _) = hostile(&plugin, "alloc", Duration::from_secs(30));
    assert_eq!(
        result.unwrap_err(),
        RunFailure::MemoryLimit {
            limit_bytes: 64 << 20
        }
    );
    assert_runs_ok(&plugin);
}

#[test]
fn the_file_system_is_out_of_reach() {
    let f = fixture();
    let (result, _) = hostile(&f.hostile, "open-file", Duration::from_secs(30));
    match result.unwrap_err() {
        RunFailure::Plugin { code, .. } => assert_eq!(code, "io-denied"),
        other => panic!("expected io-denied, got {other:?}"),
    }
    assert_runs_ok(&f.hostile);
}

#[test]
fn a_panic_is_a_trap_that_says_so() {
    let f = fixture();
    let (result, recorder) = hostile(&f.hostile, "trap", Duration::from_secs(30));
    let RunFailure::Trap(message) = result.unwrap_err() else {
        panic!("expected a trap");
    };
    eprintln!("{message}");
    assert!(message.contains("panic"), "{message}");
    assert!(message.contains("deliberate panic"), "{message}");
    let (stderr, truncated) = recorder.output(OutputStream::Stderr).unwrap();
    assert!(stderr.contains("deliberate panic"), "{stderr}");
    assert!(!truncated);
    assert_runs_ok(&f.hostile);
}

#[test]
fn endless_recursion_is_a_stack_overflow() {
    let f = fixture();
    let (result, _) = hostile(&f.hostile, "recurse", Duration::from_secs(30));
    let RunFailure::Trap(message) = result.unwrap_err() else {
        panic!("expected a trap");
    };
    eprintln!("{message}");
    assert!(message.contains("stack overflow"), "{message}");
    assert!(message.contains("recurse"), "{message}");
    assert_runs_ok(&f.hostile);
}

#[test]
fn flooded_output_is_truncated_not_fatal() {
    let f = fixture();
    let (result, recorder) = hostile(&f.hostile, "stdout-flood", Duration::from_secs(60));
    let output = result.expect("a flood of output does not fail the run");
    let text = String::from_utf8(output.data.into_bytes().unwrap()).unwrap();
    assert!(text.starts_with("ok"), "{text}");
    let limit = HostConfig::default().max_output_bytes;
    for stream in [OutputStream::Stdout, OutputStream::Stderr] {
        let (captured, truncated) = recorder.output(stream).unwrap();
        assert!(truncated, "{stream:?}");
        assert_eq!(captured.len(), limit, "{stream:?}");
        assert!(captured.starts_with("xxxx"));
    }
    assert_runs_ok(&f.hostile);
}

#[test]
fn a_log_flood_is_bounded() {
    let f = fixture();
    let (result, recorder) = hostile(&f.hostile, "log-flood", Duration::from_secs(120));
    result.expect("a log flood does not fail the run");
    let logs = recorder.logs();
    let total: usize = logs.iter().map(|(_, m)| m.len()).sum();
    assert!(total <= MAX_LOG_BYTES_PER_RUN + 1024, "{total}");
    let (level, last) = logs.last().unwrap();
    assert_eq!(*level, LogLevel::Warn);
    assert!(last.contains("dropped"), "{last}");
    assert!(logs.len() > 100);
    assert_runs_ok(&f.hostile);
}

#[test]
fn the_guest_sees_no_environment_or_arguments() {
    let f = fixture();
    let (result, _) = hostile(&f.hostile, "env", Duration::from_secs(30));
    let output = result.unwrap();
    assert_eq!(output.media_type, "application/json");
    let seen: Value = serde_json::from_slice(&output.data.into_bytes().unwrap()).unwrap();
    assert_eq!(seen["env"], json!({}));
    assert_eq!(seen["args"], json!([]));
}

#[test]
fn bad_params_are_the_plugins_error() {
    let f = fixture();
    let (result, _) = hostile(&f.hostile, "no-such-mode", Duration::from_secs(30));
    match result.unwrap_err() {
        RunFailure::Plugin { code, message } => {
            assert_eq!(code, "invalid-params");
            assert!(message.contains("no-such-mode"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn compiled_components_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = || HostConfig {
        cache_dir: Some(dir.path().join("cache")),
        max_instances: 2,
        ..HostConfig::default()
    };
    let wasm = bundled_wasm("probe");

    let first = PluginHost::new(config()).unwrap();
    let start = Instant::now();
    let plugin = first.load("bundled:probe", wasm).unwrap();
    let compile_time = start.elapsed();
    assert_eq!(first.cache_stats().compiled, 1);
    assert_eq!(first.cache_stats().hits, 0);
    let entries: Vec<PathBuf> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    let entry = &entries[0];
    let file_name = entry.file_name().unwrap().to_str().unwrap();
    assert!(file_name.starts_with(plugin.sha256()), "{file_name}");
    assert!(file_name.ends_with(".cwasm"), "{file_name}");

    let second = PluginHost::new(config()).unwrap();
    let start = Instant::now();
    let again = second.load("bundled:probe", wasm).unwrap();
    let cached_time = start.elapsed();
    assert_eq!(second.cache_stats().hits, 1);
    assert_eq!(second.cache_stats().compiled, 0);
    assert_eq!(again.description().name, "probe");
    again
        .run_shared(request(json!({"steps": 1})), Arc::new(Recorder::default()))
        .unwrap();
    eprintln!("probe: compiled in {compile_time:?}, loaded from the cache in {cached_time:?}");

    // A damaged entry is recompiled and replaced. (Damaged by replacing the
    // file: writing into it in place would pull the pages from under the
    // components mapped from it above.)
    drop((first, plugin, second, again));
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, b"not a compiled component").unwrap();
    std::fs::rename(&damaged, entry).unwrap();
    let third = PluginHost::new(config()).unwrap();
    third.load("bundled:probe", wasm).unwrap();
    let stats = third.cache_stats();
    assert_eq!((stats.bad_entries, stats.compiled, stats.hits), (1, 1, 0));
    let fourth = PluginHost::new(config()).unwrap();
    fourth.load("bundled:probe", wasm).unwrap();
    assert_eq!(fourth.cache_stats().hits, 1);
}

#[test]
fn load_errors_name_the_origin_and_the_problem() {
    let host = &fixture().host;
    let err = host.load("plugins/x.wasm", b"hello").unwrap_err();
    assert!(matches!(err, LoadError::NotWasm { .. }), "{err}");
    assert!(err.to_string().contains("plugins/x.wasm"), "{err}");

    // The smallest core module.
    let err = host.load("core.wasm", b"\0asm\x01\0\0\0").unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");

    // The smallest component: it exports nothing.
    let err = host.load("empty.wasm", b"\0asm\x0d\0\x01\0").unwrap_err();
    assert!(matches!(err, LoadError::Link { .. }), "{err}");
    assert!(err.to_string().contains("empty.wasm"), "{err}");

    let err = host
        .load("broken.wasm", b"\0asm\x0d\0\x01\0\xff")
        .unwrap_err();
    assert!(matches!(err, LoadError::Compile { .. }), "{err}");
}

#[test]
fn concurrent_runs_are_isolated() {
    let f = fixture();
    std::thread::scope(|scope| {
        let runs: Vec<_> = (0..4)
            .map(|i| {
                scope.spawn(move || {
                    f.probe
                        .run_shared(
                            request(json!({"steps": 3, "echo": i})),
                            Arc::new(Recorder::default()),
                        )
                        .unwrap()
                })
            })
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            let output: Value =
                serde_json::from_slice(&run.join().unwrap().data.into_bytes().unwrap()).unwrap();
            assert_eq!(output["echo"], i);
        }
    });
}

/// Prints how long a no-op run takes (store, instantiate, call, drop). Not a
/// timed assertion: run it with `--ignored --nocapture`, ideally in release.
#[test]
#[ignore]
fn noop_run_timing() {
    let f = fixture();
    let measure = |label: &str, run: &dyn Fn()| {
        for _ in 0..20 {
            run();
        }
        let mut times: Vec<Duration> = (0..500)
            .map(|_| {
                let start = Instant::now();
                run();
                start.elapsed()
            })
            .collect();
        times.sort();
        eprintln!(
            "{label}: p50 {:?}, p90 {:?}, p99 {:?}",
            times[times.len() / 2],
            times[times.len() * 9 / 10],
            times[times.len() * 99 / 100]
        );
    };
    let control: Arc<dyn RunControl> = Arc::new(Recorder::default());
    measure("no-op run_shared", &|| {
        f.hostile
            .run_shared(request(json!({"mode": "ok"})), control.clone())
            .unwrap();
    });
    let recorder = Recorder::default();
    measure("no-op run (borrowed control)", &|| {
        f.hostile
            .run(request(json!({"mode": "ok"})), &recorder)
            .unwrap();
    });
}
