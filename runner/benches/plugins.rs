//! Plugin speed, as ratios measured in one run (BRIEF section 6):
//!
//! - `json-compare` in WebAssembly against the same code built natively, on
//!   two 10 MB documents (target: at most 1.5×). Both run the plugin's
//!   `Operation` through the guest SDK: natively through its in-memory
//!   harness, in WebAssembly through the runner's host with the inputs in
//!   files, as jobs run.
//! - `text-diff` likewise, on two 10 MB texts.
//!
//! Run with `cargo bench -p longrun --bench plugins`; it prints its figures
//! and asserts nothing.

use std::time::{Duration, Instant};

use longrun::plugin::{
    HostConfig, Input, InputData, LogLevel, OutputStream, Plugin, PluginHost, ProgressUpdate,
    ResultTarget, RunControl, RunRequest, bundled,
};
use longrun_plugin::Operation;
use longrun_plugin::testing::Harness;

/// Ignores what a run reports.
struct Quiet;

impl RunControl for Quiet {
    fn progress(&self, _: ProgressUpdate) {}
    fn log(&self, _: LogLevel, _: &str) {}
    fn output(&self, _: OutputStream, _: &str, _: bool) {}
    fn is_cancelled(&self) -> bool {
        false
    }
}

/// The best of `rounds` timings of `f`, which returns the result's size.
fn best(rounds: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut size = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        size = f();
        best = best.min(started.elapsed());
    }
    (best, size)
}

/// One comparison: the operation natively and in the sandbox on the same
/// inputs; prints both times and their ratio.
fn compare<O: Operation>(
    title: &str,
    plugin: &Plugin,
    params: &str,
    inputs: &[(&str, &str, Vec<u8>)],
) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files: Vec<Input> = inputs
        .iter()
        .map(|(name, media_type, data)| {
            let path = dir.path().join(name);
            std::fs::write(&path, data).expect("write an input");
            Input {
                name: (*name).into(),
                media_type: (*media_type).into(),
                data: InputData::File(path),
            }
        })
        .collect();
    let (native, native_size) = best(3, || {
        let mut harness = Harness::new(params);
        for (name, media_type, data) in inputs {
            harness = harness.input(*name, *media_type, data.clone());
        }
        harness.run::<O>().result.expect("the native run").len()
    });
    let (wasm, wasm_size) = best(3, || {
        let request = RunRequest {
            params_json: params.into(),
            inputs: files.clone(),
            timeout: Duration::from_secs(600),
            result: ResultTarget::Memory,
        };
        plugin
            .run(request, &Quiet)
            .expect("the sandboxed run")
            .data
            .into_bytes()
            .expect("the result in memory")
            .len()
    });
    assert_eq!(native_size, wasm_size, "both give the same result");
    let megabytes = inputs.iter().map(|(_, _, d)| d.len()).sum::<usize>() as f64 / 1e6;
    println!(
        "{title}: {megabytes:.1} MB in, {wasm_size} bytes out; native {native:.2?}, wasm \
         {wasm:.2?}, ratio {:.2}×",
        wasm.as_secs_f64() / native.as_secs_f64()
    );
}

fn main() {
    let host = PluginHost::new(HostConfig {
        max_instances: 2,
        ..HostConfig::default()
    })
    .expect("the plugin host");
    let load = |name: &str| {
        let (_, wasm) = bundled()
            .iter()
            .find(|(bundled, _)| *bundled == name)
            .expect("a bundled plugin");
        host.load(&format!("bundled:{name}"), wasm)
            .expect("the plugin loads")
    };

    // Two documents of about 10 MB, records that differ in every 50th one.
    let document = |changed: bool| {
        let records: Vec<serde_json::Value> = (0..125_000)
            .map(|i| {
                serde_json::json!({
                    "id": i,
                    "name": format!("record {i}"),
                    "tags": ["a", "b", if changed && i % 50 == 0 { "z" } else { "c" }],
                    "score": i as f64 / 7.0,
                })
            })
            .collect();
        serde_json::to_vec(&records).expect("JSON")
    };
    compare::<longrun_json_compare::operation::JsonCompare>(
        "json-compare",
        &load("json-compare"),
        "{}",
        &[
            ("left", "application/json", document(false)),
            ("right", "application/json", document(true)),
        ],
    );

    // Two texts of about 10 MB that differ in every 1000th line.
    let text = |changed: bool| {
        (0..250_000)
            .map(|i| {
                if changed && i % 1000 == 0 {
                    format!("{i:>8} this line was changed\n")
                } else {
                    format!("{i:>8} the quick brown fox jumps over the dog\n")
                }
            })
            .collect::<String>()
            .into_bytes()
    };
    compare::<longrun_text_diff::operation::TextDiff>(
        "text-diff",
        &load("text-diff"),
        "{}",
        &[
            ("left", "text/plain", text(false)),
            ("right", "text/plain", text(true)),
        ],
    );
}
