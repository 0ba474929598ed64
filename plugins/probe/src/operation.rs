//! The `probe` operation, independent of the component bindings: its
//! description, its params and `run` against a [`Host`].
//!
//! Params (JSON Schema in [`PARAMS_SCHEMA`]):
//! - `durationMs` (0 to 3 600 000, default 0): the total run time, spread evenly
//!   over the steps;
//! - `steps` (1 to 10 000, default 10): how many progress steps;
//! - `fail` (`{"code", "message"}`): fail with that error after the last step;
//! - `resultBytes` (0 to 104 857 600): the result is that many bytes of
//!   [`pattern`] as `application/octet-stream` instead of the JSON echo;
//! - `echoInput` (boolean, default `false`): when `true`, the result is the
//!   bytes of input `data` with its media type instead of the JSON echo; the
//!   run fails with `invalid-params` at once when `data` was not given;
//! - `echo` (any JSON): echoed in the JSON result.
//!
//! At most one of `resultBytes` and `echoInput` may be given (whatever the
//! value of `echoInput`); both together are `invalid-params`.
//!
//! The run reports stage `prepare` (0 of n), then stage `work` with
//! `fraction(i, n)` and message `step i of n` after each step, then stage
//! `finish` (n of n). When a progress call returns `false` or `is-cancelled`
//! says so, it stops with the error code `canceled`.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// The operation name.
pub const NAME: &str = "probe";
/// A short title for people.
pub const TITLE: &str = "Conformance probe";
/// A longer description for people.
pub const DESCRIPTION: &str = "The conformance fixture. Runs for `durationMs` milliseconds in \
`steps` steps, reporting progress at every step (stage `work`, fraction i of steps, message \
`step i of n`) and stopping at the next step (or within 20 ms while waiting) once canceled, \
with the error code `canceled`. Then it fails with `fail.code` and `fail.message` if `fail` is \
given; otherwise the result is application/json {\"echo\": <echo or null>, \"steps\": n, \
\"inputs\": [{\"name\", \"mediaType\", \"size\"}]}, or, when `resultBytes` is given, that many \
bytes of application/octet-stream where byte i is i mod 251, or, when `echoInput` is true, \
exactly the bytes of the optional input `data` (any media type) with its media type. \
`resultBytes` and `echoInput` cannot be given together, and `echoInput` without input `data` \
fails at once with the error code `invalid-params`.";
/// The stages, in order.
pub const STAGES: [&str; 3] = ["prepare", "work", "finish"];
/// The media type of the default (JSON) result.
pub const RESULT_MEDIA_TYPE: &str = "application/json";
/// The media type of the result when `resultBytes` is given.
pub const BYTES_MEDIA_TYPE: &str = "application/octet-stream";
/// The one (optional, any media type) input: `(name, description)`.
pub const INPUT: (&str, &str) = (
    "data",
    "Any bytes; the JSON result lists its name, media type and size, and with `echoInput` the \
result is these bytes with this media type.",
);

/// The names of the params, as [`PARAMS_SCHEMA`] lists them.
pub const PARAM_NAMES: [&str; 6] = [
    "durationMs",
    "steps",
    "fail",
    "resultBytes",
    "echoInput",
    "echo",
];

/// The largest `durationMs`: one hour.
pub const MAX_DURATION_MS: u64 = 3_600_000;
/// The largest `steps`.
pub const MAX_STEPS: u64 = 10_000;
/// The largest `resultBytes`: 100 MiB.
pub const MAX_RESULT_BYTES: u64 = 104_857_600;
/// The longest single sleep between two cancellation checks.
pub const SLEEP_SLICE: Duration = Duration::from_millis(20);

/// The JSON Schema (draft 2020-12) of the params object.
pub const PARAMS_SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "probe params",
  "type": "object",
  "properties": {
    "durationMs": {
      "description": "Total run time in milliseconds, spread evenly over the steps.",
      "type": "integer",
      "minimum": 0,
      "maximum": 3600000,
      "default": 0
    },
    "steps": {
      "description": "How many steps; progress is reported after each.",
      "type": "integer",
      "minimum": 1,
      "maximum": 10000,
      "default": 10
    },
    "fail": {
      "description": "Fail with this error after the last step.",
      "type": "object",
      "properties": {
        "code": { "type": "string", "minLength": 1 },
        "message": { "type": "string" }
      },
      "required": ["code", "message"],
      "additionalProperties": false
    },
    "resultBytes": {
      "description": "Return this many bytes (byte i is i mod 251) as application/octet-stream instead of the JSON echo. Not together with echoInput.",
      "type": "integer",
      "minimum": 0,
      "maximum": 104857600
    },
    "echoInput": {
      "description": "When true, return exactly the bytes of input data, with its media type, instead of the JSON echo; fails with invalid-params when data is not given. Not together with resultBytes.",
      "type": "boolean",
      "default": false
    },
    "echo": {
      "description": "Any JSON value, echoed in the JSON result."
    }
  },
  "additionalProperties": false,
  "not": { "required": ["resultBytes", "echoInput"] }
}"#;

/// The probe's params, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The total run time.
    pub duration: Duration,
    /// The number of steps, at least 1.
    pub steps: u64,
    /// The error to fail with after the last step.
    pub fail: Option<Failure>,
    /// The size of a byte-pattern result, instead of the JSON echo.
    pub result_bytes: Option<u64>,
    /// Whether the result is input `data`, instead of the JSON echo.
    pub echo_input: bool,
    /// The value to echo (`null` when not given).
    pub echo: Value,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            duration: Duration::ZERO,
            steps: 10,
            fail: None,
            result_bytes: None,
            echo_input: false,
            echo: Value::Null,
        }
    }
}

/// Why a run failed: a machine-readable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// A short token such as `invalid-params` or `canceled`.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    fn new(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
        }
    }

    fn invalid_params(message: impl Into<String>) -> Self {
        Self::new("invalid-params", message)
    }
}

/// One input as the runner resolved it.
#[derive(Debug, Clone, Copy)]
pub struct InputRef<'a> {
    /// The input's name.
    pub name: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its bytes.
    pub data: &'a [u8],
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The media type of `data`.
    pub media_type: String,
    /// The result bytes.
    pub data: Vec<u8>,
}

/// A progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Steps done and steps in all.
    pub fraction: (u64, u64),
    /// The current stage, one of [`STAGES`].
    pub stage: &'static str,
    /// A short message for people.
    pub message: String,
}

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something the reader should notice.
    Warn,
}

/// What the run needs from the runner: the host imports, plus time.
pub trait Host {
    /// Appends a line to the job's log.
    fn log(&mut self, level: Level, message: &str);
    /// Reports progress; returns whether to go on.
    fn progress(&mut self, update: Update) -> bool;
    /// Whether the job has been canceled.
    fn is_cancelled(&mut self) -> bool;
    /// The current time.
    fn now(&mut self) -> Instant {
        Instant::now()
    }
    /// Waits for `duration`.
    fn sleep(&mut self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// `len` bytes where byte `i` is `i mod 251` (251 is prime, so the pattern does
/// not line up with power-of-two block or range boundaries).
#[must_use]
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|index| u8::try_from(index % 251).unwrap_or(0))
        .collect()
}

/// Parses the params JSON text. Empty text and `null` mean no params.
///
/// # Errors
///
/// `invalid-params` when the text is not a params object of the schema's shape.
pub fn parse_params(text: &str) -> Result<Params, Failure> {
    let text = text.trim();
    if text.is_empty() || text == "null" {
        return Ok(Params::default());
    }
    let value: Value = serde_json::from_str(text)
        .map_err(|error| Failure::invalid_params(format!("params are not JSON: {error}")))?;
    let Value::Object(map) = value else {
        return Err(Failure::invalid_params("params must be a JSON object"));
    };
    if let Some(unknown) = map.keys().find(|key| !PARAM_NAMES.contains(&key.as_str())) {
        return Err(Failure::invalid_params(format!(
            "unknown param `{unknown}`"
        )));
    }
    if map.contains_key("resultBytes") && map.contains_key("echoInput") {
        return Err(Failure::invalid_params(
            "`resultBytes` and `echoInput` cannot be given together",
        ));
    }
    let defaults = Params::default();
    Ok(Params {
        duration: integer(&map, "durationMs", 0, MAX_DURATION_MS)?
            .map_or(defaults.duration, Duration::from_millis),
        steps: integer(&map, "steps", 1, MAX_STEPS)?.unwrap_or(defaults.steps),
        fail: map.get("fail").map(parse_fail).transpose()?,
        result_bytes: integer(&map, "resultBytes", 0, MAX_RESULT_BYTES)?,
        echo_input: boolean(&map, "echoInput")?.unwrap_or(defaults.echo_input),
        echo: map.get("echo").cloned().unwrap_or(Value::Null),
    })
}

/// A boolean param.
fn boolean(map: &Map<String, Value>, key: &str) -> Result<Option<bool>, Failure> {
    map.get(key)
        .map(|value| {
            value.as_bool().ok_or_else(|| {
                Failure::invalid_params(format!("`{key}` must be a boolean, not {value}"))
            })
        })
        .transpose()
}

/// An integer param within `min..=max`; JSON Schema counts `5.0` as an integer too.
fn integer(
    map: &Map<String, Value>,
    key: &str,
    min: u64,
    max: u64,
) -> Result<Option<u64>, Failure> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let number = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|float| float.fract() == 0.0 && *float >= 0.0 && *float <= 1e15)
            // An integral float below 1e15 converts exactly.
            .map(|float| {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let whole = float as u64;
                whole
            })
    });
    match number {
        Some(number) if (min..=max).contains(&number) => Ok(Some(number)),
        _ => Err(Failure::invalid_params(format!(
            "`{key}` must be an integer from {min} to {max}, not {value}"
        ))),
    }
}

fn parse_fail(value: &Value) -> Result<Failure, Failure> {
    let invalid =
        || Failure::invalid_params("`fail` must be {\"code\": string, \"message\": string}");
    let map = value.as_object().ok_or_else(invalid)?;
    if map.keys().any(|key| key != "code" && key != "message") {
        return Err(invalid());
    }
    let code = map
        .get("code")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    let message = map
        .get("message")
        .and_then(Value::as_str)
        .ok_or_else(invalid)?;
    if code.is_empty() {
        return Err(invalid());
    }
    Ok(Failure::new(code, message))
}

/// Runs the probe.
///
/// # Errors
///
/// `invalid-params` (before any progress) when the params are invalid or
/// `echoInput` is true without input `data`; `canceled`; or the `fail` error
/// when one was asked for.
pub fn run(params: &str, inputs: &[InputRef<'_>], host: &mut dyn Host) -> Result<Output, Failure> {
    let params = parse_params(params)?;
    let echoed = if params.echo_input {
        let data = inputs
            .iter()
            .find(|input| input.name == INPUT.0)
            .ok_or_else(|| {
                Failure::invalid_params("`echoInput` is true but input `data` was not given")
            })?;
        Some(*data)
    } else {
        None
    };
    host.log(
        Level::Info,
        &format!(
            "probe: start: {} steps over {} ms",
            params.steps,
            params.duration.as_millis()
        ),
    );
    let outcome = work(&params, inputs, echoed, host);
    let ending = match &outcome {
        Ok(output) => format!(
            "probe: end: succeeded with {} bytes of {}",
            output.data.len(),
            output.media_type
        ),
        Err(failure) => format!(
            "probe: end: failed with {}: {}",
            failure.code, failure.message
        ),
    };
    host.log(Level::Info, &ending);
    outcome
}

fn work(
    params: &Params,
    inputs: &[InputRef<'_>],
    echoed: Option<InputRef<'_>>,
    host: &mut dyn Host,
) -> Result<Output, Failure> {
    let steps = params.steps;
    let canceled =
        |done: u64| Failure::new("canceled", format!("canceled after step {done} of {steps}"));
    report(host, (0, steps), "prepare", "preparing".into()).map_err(|()| canceled(0))?;

    let start = host.now();
    for step in 1..=steps {
        // Each step ends at its share of the total time, so waits do not drift.
        let due = start + scaled(params.duration, step, steps);
        wait_until(host, due).map_err(|()| canceled(step - 1))?;
        report(
            host,
            (step, steps),
            "work",
            format!("step {step} of {steps}"),
        )
        .map_err(|()| canceled(step))?;
    }

    report(host, (steps, steps), "finish", "finishing".into()).map_err(|()| canceled(steps))?;
    if let Some(failure) = &params.fail {
        return Err(failure.clone());
    }
    if let Some(input) = echoed {
        return Ok(Output {
            media_type: input.media_type.to_owned(),
            data: input.data.to_vec(),
        });
    }
    if let Some(size) = params.result_bytes {
        let size = usize::try_from(size)
            .map_err(|_| Failure::invalid_params("`resultBytes` is too large for this machine"))?;
        return Ok(Output {
            media_type: BYTES_MEDIA_TYPE.to_owned(),
            data: pattern(size),
        });
    }
    let inputs: Vec<Value> = inputs
        .iter()
        .map(|input| json!({"name": input.name, "mediaType": input.media_type, "size": input.data.len()}))
        .collect();
    let result = json!({"echo": params.echo, "steps": steps, "inputs": inputs});
    Ok(Output {
        media_type: RESULT_MEDIA_TYPE.to_owned(),
        data: result.to_string().into_bytes(),
    })
}

/// `total * part / whole`, exactly, in milliseconds.
fn scaled(total: Duration, part: u64, whole: u64) -> Duration {
    let millis = u64::try_from(total.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(millis.saturating_mul(part) / whole.max(1))
}

/// Reports progress; `Err` when the host says to stop.
fn report(
    host: &mut dyn Host,
    fraction: (u64, u64),
    stage: &'static str,
    message: String,
) -> Result<(), ()> {
    if host.progress(Update {
        fraction,
        stage,
        message,
    }) {
        Ok(())
    } else {
        Err(())
    }
}

/// Sleeps until `due` in slices of at most [`SLEEP_SLICE`], checking for
/// cancellation before each; `Err` once canceled.
fn wait_until(host: &mut dyn Host, due: Instant) -> Result<(), ()> {
    loop {
        let now = host.now();
        if now >= due {
            return Ok(());
        }
        if host.is_cancelled() {
            return Err(());
        }
        host.sleep((due - now).min(SLEEP_SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host with a virtual clock that records everything.
    struct FakeHost {
        origin: Instant,
        elapsed: Duration,
        updates: Vec<Update>,
        logs: Vec<String>,
        sleeps: Vec<Duration>,
        cancel_after: Option<Duration>,
        refuse_progress_after: Option<usize>,
    }

    impl FakeHost {
        fn new() -> Self {
            Self {
                origin: Instant::now(),
                elapsed: Duration::ZERO,
                updates: Vec::new(),
                logs: Vec::new(),
                sleeps: Vec::new(),
                cancel_after: None,
                refuse_progress_after: None,
            }
        }
    }

    impl Host for FakeHost {
        fn log(&mut self, _level: Level, message: &str) {
            self.logs.push(message.to_owned());
        }

        fn progress(&mut self, update: Update) -> bool {
            self.updates.push(update);
            self.refuse_progress_after
                .is_none_or(|limit| self.updates.len() <= limit)
        }

        fn is_cancelled(&mut self) -> bool {
            self.cancel_after.is_some_and(|at| self.elapsed >= at)
        }

        fn now(&mut self) -> Instant {
            self.origin + self.elapsed
        }

        fn sleep(&mut self, duration: Duration) {
            self.sleeps.push(duration);
            self.elapsed += duration;
        }
    }

    #[test]
    fn schema_is_json_and_closed() {
        let schema: Value = serde_json::from_str(PARAMS_SCHEMA).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        let mut names: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let mut expected = PARAM_NAMES.to_vec();
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert_eq!(schema["properties"]["echoInput"]["type"], "boolean");
        assert_eq!(schema["properties"]["echoInput"]["default"], false);
        assert_eq!(
            schema["not"],
            json!({"required": ["resultBytes", "echoInput"]})
        );
    }

    #[test]
    fn defaults_echo_the_request() {
        let mut host = FakeHost::new();
        let data = [1, 2, 3];
        let inputs = [InputRef {
            name: "data",
            media_type: "text/plain",
            data: &data,
        }];
        let output = run(r#"{"echo": {"a": [1, "x"]}}"#, &inputs, &mut host).unwrap();
        assert_eq!(output.media_type, "application/json");
        let result: Value = serde_json::from_slice(&output.data).unwrap();
        assert_eq!(
            result,
            json!({"echo": {"a": [1, "x"]}, "steps": 10, "inputs": [{"name": "data", "mediaType": "text/plain", "size": 3}]})
        );
        assert_eq!(host.updates.len(), 12);
        assert_eq!(host.updates[0].stage, "prepare");
        assert_eq!(host.updates[3].fraction, (3, 10));
        assert_eq!(host.updates[3].message, "step 3 of 10");
        assert_eq!(host.updates[11].stage, "finish");
        assert!(host.sleeps.is_empty());
        assert_eq!(host.logs.len(), 2);
    }

    #[test]
    fn no_params_mean_defaults() {
        for text in ["", "null", "{}"] {
            assert_eq!(parse_params(text).unwrap(), Params::default());
        }
        let output = run("", &[], &mut FakeHost::new()).unwrap();
        let result: Value = serde_json::from_slice(&output.data).unwrap();
        assert_eq!(result, json!({"echo": null, "steps": 10, "inputs": []}));
    }

    #[test]
    fn duration_is_spread_over_steps_in_short_slices() {
        let mut host = FakeHost::new();
        run(r#"{"durationMs": 1000, "steps": 4}"#, &[], &mut host).unwrap();
        assert_eq!(host.elapsed, Duration::from_millis(1000));
        assert!(host.sleeps.iter().all(|slice| *slice <= SLEEP_SLICE));
        assert_eq!(host.updates.len(), 6);
    }

    #[test]
    fn cancel_while_waiting_stops_within_a_slice() {
        let mut host = FakeHost::new();
        host.cancel_after = Some(Duration::from_millis(2_510));
        let failure = run(r#"{"durationMs": 10000, "steps": 2}"#, &[], &mut host).unwrap_err();
        assert_eq!(failure.code, "canceled");
        assert!(host.elapsed < Duration::from_millis(2_510) + SLEEP_SLICE);
        assert_eq!(host.logs.len(), 2);
        assert!(host.logs[1].contains("canceled"));
    }

    #[test]
    fn refused_progress_stops_at_that_step() {
        let mut host = FakeHost::new();
        host.refuse_progress_after = Some(4);
        let failure = run(r#"{"steps": 100}"#, &[], &mut host).unwrap_err();
        assert_eq!(failure.code, "canceled");
        assert_eq!(failure.message, "canceled after step 4 of 100");
        assert_eq!(host.updates.len(), 5);
    }

    #[test]
    fn fail_after_the_last_step() {
        let mut host = FakeHost::new();
        let failure = run(
            r#"{"steps": 3, "fail": {"code": "boom", "message": "it broke"}}"#,
            &[],
            &mut host,
        )
        .unwrap_err();
        assert_eq!(failure, Failure::new("boom", "it broke"));
        assert_eq!(host.updates.last().unwrap().fraction, (3, 3));
    }

    #[test]
    fn result_bytes_follow_the_pattern() {
        let output = run(
            r#"{"resultBytes": 600, "echo": 1}"#,
            &[],
            &mut FakeHost::new(),
        )
        .unwrap();
        assert_eq!(output.media_type, "application/octet-stream");
        assert_eq!(output.data.len(), 600);
        assert_eq!(output.data[250], 250);
        assert_eq!(output.data[251], 0);
        assert_eq!(output.data[599], u8::try_from(599 % 251).unwrap());
        assert!(
            run(r#"{"resultBytes": 0}"#, &[], &mut FakeHost::new())
                .unwrap()
                .data
                .is_empty()
        );
    }

    #[test]
    fn echo_input_returns_the_input_as_it_is() {
        let data = [0, 1, 2, 255, b'{'];
        let inputs = [InputRef {
            name: "data",
            media_type: "image/x-test; q=1",
            data: &data,
        }];
        let mut host = FakeHost::new();
        let output = run(
            r#"{"echoInput": true, "steps": 2, "echo": {"ignored": true}}"#,
            &inputs,
            &mut host,
        )
        .unwrap();
        assert_eq!(output.media_type, "image/x-test; q=1");
        assert_eq!(output.data, data);
        // It runs its steps as usual.
        assert_eq!(host.updates.len(), 4);
        assert_eq!(host.updates.last().unwrap().stage, "finish");
        let empty = [InputRef {
            name: "data",
            media_type: "text/plain",
            data: &[],
        }];
        let output = run(r#"{"echoInput": true}"#, &empty, &mut FakeHost::new()).unwrap();
        assert_eq!(output.media_type, "text/plain");
        assert!(output.data.is_empty());
        // `false` is the default: the JSON echo.
        let output = run(r#"{"echoInput": false}"#, &inputs, &mut FakeHost::new()).unwrap();
        assert_eq!(output.media_type, "application/json");
        assert_eq!(
            parse_params(r#"{"echoInput": false}"#).unwrap(),
            Params::default()
        );
    }

    #[test]
    fn echo_input_without_data_fails_at_once() {
        let mut host = FakeHost::new();
        let failure = run(r#"{"echoInput": true}"#, &[], &mut host).unwrap_err();
        assert_eq!(failure.code, "invalid-params");
        assert!(host.updates.is_empty());
        assert!(host.sleeps.is_empty());
    }

    #[test]
    fn fail_wins_over_echo_input() {
        let data = [7];
        let inputs = [InputRef {
            name: "data",
            media_type: "text/plain",
            data: &data,
        }];
        let failure = run(
            r#"{"echoInput": true, "steps": 1, "fail": {"code": "boom", "message": "m"}}"#,
            &inputs,
            &mut FakeHost::new(),
        )
        .unwrap_err();
        assert_eq!(failure, Failure::new("boom", "m"));
    }

    #[test]
    fn bad_params_are_invalid_params() {
        for text in [
            "[",
            "[]",
            "3",
            r#"{"steps": 0}"#,
            r#"{"steps": 10001}"#,
            r#"{"steps": 1.5}"#,
            r#"{"steps": "3"}"#,
            r#"{"durationMs": -1}"#,
            r#"{"durationMs": 3600001}"#,
            r#"{"resultBytes": 104857601}"#,
            r#"{"fail": {"code": "x"}}"#,
            r#"{"fail": {"code": "", "message": ""}}"#,
            r#"{"fail": {"code": "x", "message": "y", "z": 1}}"#,
            r#"{"fail": "x"}"#,
            r#"{"other": 1}"#,
            r#"{"echoInput": "yes"}"#,
            r#"{"echoInput": 1}"#,
            r#"{"echoInput": null}"#,
            r#"{"resultBytes": 1, "echoInput": true}"#,
            r#"{"resultBytes": 1, "echoInput": false}"#,
        ] {
            let failure = parse_params(text).unwrap_err();
            assert_eq!(failure.code, "invalid-params", "{text}");
        }
        assert_eq!(parse_params(r#"{"steps": 5.0}"#).unwrap().steps, 5);
    }
}
