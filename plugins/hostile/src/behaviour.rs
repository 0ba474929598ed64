//! The misbehaviours, one per [`Mode`], and the operation's description.

use std::fmt::{self, Write as _};
use std::hint::black_box;
use std::io::Write as _;

use serde_json::{Map, Value, json};

/// The operation name.
pub const NAME: &str = "hostile";
/// A short title for people.
pub const TITLE: &str = "Hostile plugin (tests only)";
/// A longer description for people.
pub const DESCRIPTION: &str = "Misbehaves as `mode` says, to test the runner's sandbox: `ok` \
returns \"ok\"; `spin` loops forever without calling the host; `alloc` allocates and touches \
1 MiB chunks forever; `open-file` tries to read /etc/passwd and create escape.txt (error \
`io-denied` when both fail); `trap` panics; `recurse` overflows the stack; `stdout-flood` \
writes 100 MiB to stdout and 100 MiB to stderr; `log-flood` logs 1,000,000 lines of 1 KiB; \
`env` returns the environment variables and arguments as application/json.";
/// The stages, in order.
pub const STAGES: [&str; 1] = ["run"];
/// The media type of the result (except for `env`, which returns JSON).
pub const RESULT_MEDIA_TYPE: &str = "text/plain";
/// The JSON Schema (draft 2020-12) of the params object.
pub const PARAMS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "hostile params",
  "type": "object",
  "properties": {
    "mode": {
      "description": "How to misbehave.",
      "enum": ["ok", "spin", "alloc", "open-file", "trap", "recurse", "stdout-flood", "log-flood", "env"]
    }
  },
  "required": ["mode"],
  "additionalProperties": false
}"#;

/// Bytes per stream written by `stdout-flood`: 100 MiB.
pub const FLOOD_BYTES: usize = 100 << 20;
/// Lines logged by `log-flood`.
pub const LOG_LINES: usize = 1_000_000;
/// Bytes per line of both floods.
pub const LINE_BYTES: usize = 1024;

const MIB: usize = 1 << 20;
const PAGE: usize = 4096;

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Return "ok" at once.
    Ok,
    /// Loop forever without calling the host.
    Spin,
    /// Allocate and touch 1 MiB chunks forever.
    Alloc,
    /// Try to read /etc/passwd and create escape.txt.
    OpenFile,
    /// Panic.
    Trap,
    /// Recurse without end.
    Recurse,
    /// Write 100 MiB to stdout and to stderr, then return "ok".
    StdoutFlood,
    /// Log 1,000,000 lines of 1 KiB, then return "ok".
    LogFlood,
    /// Return the environment variables and arguments.
    Env,
}

impl Mode {
    /// Every mode, in schema order.
    pub const ALL: [Self; 9] = [
        Self::Ok,
        Self::Spin,
        Self::Alloc,
        Self::OpenFile,
        Self::Trap,
        Self::Recurse,
        Self::StdoutFlood,
        Self::LogFlood,
        Self::Env,
    ];

    /// The name used in params.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Spin => "spin",
            Self::Alloc => "alloc",
            Self::OpenFile => "open-file",
            Self::Trap => "trap",
            Self::Recurse => "recurse",
            Self::StdoutFlood => "stdout-flood",
            Self::LogFlood => "log-flood",
            Self::Env => "env",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a run failed: a machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A short token such as `invalid-params` or `io-denied`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The media type of `data`.
    pub media_type: &'static str,
    /// The result bytes.
    pub data: Vec<u8>,
}

impl Output {
    fn text(text: impl Into<String>) -> Self {
        Self {
            media_type: RESULT_MEDIA_TYPE,
            data: text.into().into_bytes(),
        }
    }
}

/// The host's log import.
pub trait Log {
    /// Appends a line to the job's log.
    fn log(&mut self, message: &str);
}

/// Parses the params JSON text: `{"mode": …}`.
///
/// # Errors
///
/// `invalid-params` unless the text is an object with exactly a known `mode`.
pub fn parse_params(text: &str) -> Result<Mode, Failure> {
    let invalid = |message: String| Failure {
        code: "invalid-params",
        message,
    };
    let value: Value = serde_json::from_str(text)
        .map_err(|error| invalid(format!("params are not JSON: {error}")))?;
    let map: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| invalid("params must be a JSON object".into()))?;
    if let Some(unknown) = map.keys().find(|key| *key != "mode") {
        return Err(invalid(format!("unknown param `{unknown}`")));
    }
    let mode = map
        .get("mode")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("`mode` is required and must be a string".into()))?;
    Mode::ALL
        .into_iter()
        .find(|known| known.name() == mode)
        .ok_or_else(|| invalid(format!("unknown mode `{mode}`")))
}

/// Misbehaves as `mode` says. Several modes never return.
///
/// # Errors
///
/// `io-denied` from [`Mode::OpenFile`] when the sandbox refused both file operations.
pub fn run(mode: Mode, log: &mut dyn Log) -> Result<Output, Failure> {
    match mode {
        Mode::Ok => Ok(Output::text("ok")),
        Mode::Spin => spin(),
        Mode::Alloc => alloc(),
        Mode::OpenFile => open_file(),
        Mode::Trap => panic!("deliberate panic"),
        Mode::Recurse => {
            let depth = recurse(0);
            Ok(Output::text(format!("recursion ended at depth {depth}")))
        }
        Mode::StdoutFlood => Ok(stdout_flood()),
        Mode::LogFlood => Ok(log_flood(log)),
        Mode::Env => Ok(environment()),
    }
}

/// Counts forever without calling out; `black_box` keeps the loop.
fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = black_box(counter.wrapping_add(1));
    }
}

/// Keeps 1 MiB chunks, each written page by page so the memory is really used.
fn alloc() -> ! {
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; MIB];
        for (index, byte) in chunk.iter_mut().enumerate().step_by(PAGE) {
            *byte = black_box(u8::try_from(index / PAGE % 256).unwrap_or(1) | 1);
        }
        chunks.push(black_box(chunk));
    }
}

/// Tries to escape the sandbox through the file system.
fn open_file() -> Result<Output, Failure> {
    let read = std::fs::File::open("/etc/passwd");
    let create = std::fs::File::create("escape.txt");
    let mut succeeded = Vec::new();
    if read.is_ok() {
        succeeded.push("opening /etc/passwd for reading");
    }
    if create.is_ok() {
        succeeded.push("creating escape.txt");
    }
    match (read, create) {
        (Err(read), Err(create)) => Err(Failure {
            code: "io-denied",
            message: format!("open /etc/passwd: {read}; create escape.txt: {create}"),
        }),
        _ => Ok(Output::text(format!("succeeded: {}", succeeded.join(", ")))),
    }
}

/// Recurses until a stack overflows: the engine's call stack, which is reached
/// long before the 1 MiB shadow stack in linear memory, as each frame puts only a
/// few bytes there. The callee's result goes through `black_box` before it is used,
/// so the call is not a tail call and the recursion cannot become a loop.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return depth;
    }
    let deeper = recurse(depth + 1);
    black_box(deeper) ^ depth
}

/// Writes [`FLOOD_BYTES`] to stdout and to stderr, alternating lines; a stream
/// that fails is left alone.
fn stdout_flood() -> Output {
    let mut line = vec![b'x'; LINE_BYTES];
    line[LINE_BYTES - 1] = b'\n';
    let (mut stdout, mut stderr) = (std::io::stdout().lock(), std::io::stderr().lock());
    let (mut to_stdout, mut to_stderr) = (0usize, 0usize);
    let (mut stdout_ok, mut stderr_ok) = (true, true);
    for _ in 0..FLOOD_BYTES / LINE_BYTES {
        if stdout_ok {
            stdout_ok = stdout.write_all(&line).is_ok();
            to_stdout += if stdout_ok { LINE_BYTES } else { 0 };
        }
        if stderr_ok {
            stderr_ok = stderr.write_all(&line).is_ok();
            to_stderr += if stderr_ok { LINE_BYTES } else { 0 };
        }
    }
    let _ = stdout.flush();
    Output::text(format!(
        "ok: wrote {to_stdout} bytes to stdout and {to_stderr} to stderr"
    ))
}

/// Logs [`LOG_LINES`] lines of [`LINE_BYTES`] bytes.
fn log_flood(log: &mut dyn Log) -> Output {
    const PREFIX: &str = "log-flood line ";
    const DIGITS: usize = 7;
    let mut message = String::with_capacity(LINE_BYTES);
    message.push_str(PREFIX);
    message.extend(std::iter::repeat_n('0', DIGITS));
    message.push(' ');
    message.extend(std::iter::repeat_n('x', LINE_BYTES - message.len()));
    let mut number = String::with_capacity(DIGITS);
    for index in 0..LOG_LINES {
        number.clear();
        // Writing to a String cannot fail.
        let _ = write!(number, "{index:0DIGITS$}");
        message.replace_range(PREFIX.len()..PREFIX.len() + DIGITS, &number);
        log.log(&message);
    }
    Output::text(format!("ok: logged {LOG_LINES} lines"))
}

/// The environment variables and arguments the plugin sees, as JSON.
fn environment() -> Output {
    let variables: Map<String, Value> = std::env::vars_os()
        .map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                Value::String(value.to_string_lossy().into_owned()),
            )
        })
        .collect();
    let args: Vec<String> = std::env::args_os()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    Output {
        media_type: "application/json",
        data: json!({"env": variables, "args": args})
            .to_string()
            .into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct CountingLog {
        lines: usize,
        bytes: usize,
    }

    impl Log for CountingLog {
        fn log(&mut self, message: &str) {
            self.lines += 1;
            self.bytes += message.len();
        }
    }

    #[test]
    fn every_mode_parses_and_is_in_the_schema() {
        let schema: Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        let names = &schema["properties"]["mode"]["enum"];
        for mode in Mode::ALL {
            assert_eq!(
                parse_params(&json!({"mode": mode.name()}).to_string()),
                Ok(mode)
            );
            assert!(
                names.as_array().unwrap().contains(&json!(mode.name())),
                "{mode}"
            );
        }
        assert_eq!(names.as_array().unwrap().len(), Mode::ALL.len());
    }

    #[test]
    fn bad_params_are_invalid_params() {
        for text in [
            "",
            "{}",
            "[]",
            r#"{"mode": "nope"}"#,
            r#"{"mode": 1}"#,
            r#"{"mode": "ok", "x": 1}"#,
        ] {
            assert_eq!(
                parse_params(text).unwrap_err().code,
                "invalid-params",
                "{text}"
            );
        }
    }

    #[test]
    fn ok_and_env_return() {
        let mut log = CountingLog { lines: 0, bytes: 0 };
        assert_eq!(run(Mode::Ok, &mut log).unwrap(), Output::text("ok"));
        let env = run(Mode::Env, &mut log).unwrap();
        assert_eq!(env.media_type, "application/json");
        let env: Value = serde_json::from_slice(&env.data).unwrap();
        assert!(env["env"].is_object() && env["args"].is_array());
    }

    #[test]
    fn log_flood_logs_a_million_kibibyte_lines() {
        let mut log = CountingLog { lines: 0, bytes: 0 };
        run(Mode::LogFlood, &mut log).unwrap();
        assert_eq!(log.lines, LOG_LINES);
        assert_eq!(log.bytes, LOG_LINES * LINE_BYTES);
    }
}
