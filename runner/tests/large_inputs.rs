//! Large inputs through the `chunked-plugin` world: `text-diff` of two 100 MB
//! texts inside the default 512 MiB memory cap, with progress through its
//! stages, and the result checked line by line.
//!
//! The inputs are files, as the jobs layer passes them, so the host never
//! holds them whole either.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use longrun::plugin::{
    HostConfig, Input, InputData, LogLevel, OutputStream, PluginHost, ProgressUpdate, ResultTarget,
    RunControl, RunRequest, bundled,
};

/// Records what a run reports.
#[derive(Default)]
struct Recorder {
    progress: Mutex<Vec<ProgressUpdate>>,
    log: Mutex<Vec<String>>,
}

impl RunControl for Recorder {
    fn progress(&self, update: ProgressUpdate) {
        self.progress.lock().unwrap().push(update);
    }

    fn log(&self, _level: LogLevel, message: &str) {
        self.log.lock().unwrap().push(message.to_owned());
    }

    fn output(&self, stream: OutputStream, text: &str, _truncated: bool) {
        self.log.lock().unwrap().push(format!("{stream:?}: {text}"));
    }

    fn is_cancelled(&self) -> bool {
        false
    }
}

/// How many lines each text has: about 100 MB at ~60 bytes a line.
const LINES: usize = 1_700_000;
/// Every this many lines, the right text differs from the left.
const CHANGE_EVERY: usize = 100_000;

/// Line `i` of the left text.
fn left_line(i: usize) -> String {
    format!(
        "{i:>9} the quick brown fox jumps over the lazy dog {:>6}\n",
        i % 7919
    )
}

/// Line `i` of the right text: the left one, changed on every
/// `CHANGE_EVERY`th line.
fn right_line(i: usize) -> String {
    if i % CHANGE_EVERY == 50_000 {
        format!("{i:>9} THE QUICK BROWN FOX CHANGED ITS MIND\n")
    } else {
        left_line(i)
    }
}

fn write_text(path: &std::path::Path, line: fn(usize) -> String) -> u64 {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut size = 0;
    for i in 0..LINES {
        let line = line(i);
        size += line.len() as u64;
        file.write_all(line.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    size
}

#[test]
fn text_diff_of_two_100_mb_texts_fits_the_default_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    let left = dir.path().join("left.txt");
    let right = dir.path().join("right.txt");
    let left_size = write_text(&left, left_line);
    let right_size = write_text(&right, right_line);
    assert!(
        left_size > 100_000_000 && right_size > 95_000_000,
        "{left_size} {right_size}"
    );

    let config = HostConfig::default();
    assert_eq!(config.memory_limit_bytes, 512 << 20, "the default cap");
    let host = PluginHost::new(HostConfig {
        max_instances: 2,
        ..config
    })
    .unwrap();
    let (_, wasm) = bundled()
        .iter()
        .find(|(name, _)| *name == "text-diff")
        .expect("text-diff is bundled");
    let plugin = host.load("bundled:text-diff", wasm).unwrap();
    assert_eq!(plugin.world(), "chunked-plugin");

    let input = |name: &str, path: &std::path::Path| Input {
        name: name.into(),
        media_type: "text/plain".into(),
        data: InputData::File(path.to_owned()),
    };
    let request = RunRequest {
        params_json: r#"{"context": 1}"#.into(),
        inputs: vec![input("left", &left), input("right", &right)],
        timeout: Duration::from_secs(600),
        result: ResultTarget::Memory,
    };
    let recorder = Recorder::default();
    let output = plugin
        .run(request, &recorder)
        .unwrap_or_else(|failure| panic!("{failure}; log: {:?}", recorder.log.lock().unwrap()));

    // One hunk per change: the changed line with one line of context around it.
    let diff = String::from_utf8(output.data.into_bytes().unwrap()).unwrap();
    let mut lines = diff.lines();
    assert_eq!(lines.next(), Some("--- left"));
    assert_eq!(lines.next(), Some("+++ right"));
    let changed: Vec<usize> = (0..LINES).filter(|i| i % CHANGE_EVERY == 50_000).collect();
    let mut expected = String::from("--- left\n+++ right\n");
    for &i in &changed {
        let start = i; // 1-based number of line i - 1
        expected.push_str(&format!("@@ -{start},3 +{start},3 @@\n"));
        expected.push(' ');
        expected.push_str(&left_line(i - 1));
        expected.push('-');
        expected.push_str(&left_line(i));
        expected.push('+');
        expected.push_str(&right_line(i));
        expected.push(' ');
        expected.push_str(&left_line(i + 1));
    }
    assert_eq!(diff, expected);

    // Progress went through read, diff and render, in that order, never
    // going down.
    let progress = recorder.progress.lock().unwrap();
    let mut stages: Vec<&str> = progress.iter().filter_map(|p| p.stage.as_deref()).collect();
    stages.dedup();
    assert_eq!(stages, ["read", "diff", "render"]);
    let percents: Vec<f64> = progress.iter().filter_map(|p| p.percent).collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1]),
        "progress went down: {percents:?}"
    );
    let reads = progress
        .iter()
        .filter(|p| p.stage.as_deref() == Some("read"))
        .count();
    assert!(reads > 10, "the read stage reported {reads} times");
}

#[test]
fn json_compare_of_two_100_mb_documents_fits_the_default_memory_cap() {
    let dir = tempfile::tempdir().unwrap();
    // 1,000 strings of 100 kB: a document of about 100 MB, which the plugin
    // parses from the runner in 1 MiB pieces without holding its text.
    let element = |i: usize, changed: bool| {
        let fill = if changed { 'y' } else { 'x' };
        format!("{i:06}{}", fill.to_string().repeat(100_000))
    };
    let write = |name: &str, changed: fn(usize) -> bool| {
        let doc: Vec<String> = (0..1_000).map(|i| element(i, changed(i))).collect();
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&doc).unwrap()).unwrap();
        path
    };
    let left = write("left.json", |_| false);
    let right = write("right.json", |i| i % 400 == 7);
    assert!(std::fs::metadata(&left).unwrap().len() > 100_000_000);

    let host = PluginHost::new(HostConfig {
        max_instances: 2,
        ..HostConfig::default()
    })
    .unwrap();
    let (_, wasm) = bundled()
        .iter()
        .find(|(name, _)| *name == "json-compare")
        .expect("json-compare is bundled");
    let plugin = host.load("bundled:json-compare", wasm).unwrap();
    let input = |name: &str, path: &std::path::Path| Input {
        name: name.into(),
        media_type: "application/json".into(),
        data: InputData::File(path.to_owned()),
    };
    let request = RunRequest {
        params_json: "{}".into(),
        inputs: vec![input("left", &left), input("right", &right)],
        timeout: Duration::from_secs(600),
        result: ResultTarget::Memory,
    };
    let recorder = Recorder::default();
    let output = plugin
        .run(request, &recorder)
        .unwrap_or_else(|failure| panic!("{failure}; log: {:?}", recorder.log.lock().unwrap()));
    let result: serde_json::Value =
        serde_json::from_slice(&output.data.into_bytes().unwrap()).unwrap();
    let paths: Vec<&str> = result["patch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["/7", "/407", "/807"],
        "{}",
        &result.to_string()[..200]
    );
    let progress = recorder.progress.lock().unwrap();
    let mut stages: Vec<&str> = progress.iter().filter_map(|p| p.stage.as_deref()).collect();
    stages.dedup();
    assert_eq!(stages, ["parse", "compare", "render"]);
}
