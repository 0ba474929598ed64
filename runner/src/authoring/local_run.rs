//! `longrun plugin run FILE`: runs a plugin once, locally, as a job would
//! run it: the params and inputs checked as the server checks them, the run
//! in the same sandbox, with a progress bar and the plugin's log on stderr
//! and the result on stdout (or in `--output`). Ctrl-C cancels the run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::check::{display_path, local_host};
use super::progress_bar::RunDisplay;
use super::run_request::{
    InputArg, ParamsRefusal, check_params, parse_byte_size, parse_params, resolve_inputs,
};
use super::{EXIT_CANCELED, EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, RunArgs};
use crate::plugin::{Output, ResultData, ResultTarget, RunFailure, RunRequest};

/// `longrun plugin run`: the exit code. A Ctrl-C while it runs cancels the
/// plugin's run.
pub async fn run_command(args: RunArgs) -> i32 {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::Relaxed);
            eprintln!("\ncanceling the run (Ctrl-C)");
        }
    });
    let code = super::blocking(move || run_blocking(&args, cancel)).await;
    ctrl_c.abort();
    code
}

/// Why a local run ended without a result: what to print and the exit code.
struct Stop {
    message: String,
    code: i32,
}

impl Stop {
    fn usage(message: impl Into<String>) -> Stop {
        Stop {
            message: message.into(),
            code: EXIT_USAGE,
        }
    }

    fn problem(message: impl Into<String>) -> Stop {
        Stop {
            message: message.into(),
            code: EXIT_PROBLEM,
        }
    }
}

fn run_blocking(args: &RunArgs, cancel: Arc<AtomicBool>) -> i32 {
    match run_once(args, cancel) {
        Ok(()) => EXIT_OK,
        Err(stop) => {
            eprintln!("error: {}", stop.message);
            stop.code
        }
    }
}

fn run_once(args: &RunArgs, cancel: Arc<AtomicBool>) -> Result<(), Stop> {
    let memory_limit = parse_byte_size(&args.memory_limit).map_err(Stop::usage)?;
    let params = parse_params(&args.params).map_err(Stop::usage)?;
    let input_args = args
        .inputs
        .iter()
        .map(|text| InputArg::parse(text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Stop::usage)?;
    if args.timeout == 0 {
        return Err(Stop::usage("--timeout must be at least 1 second"));
    }
    let wasm = std::fs::read(&args.file)
        .map_err(|e| Stop::usage(format!("cannot read {}: {e}", args.file.display())))?;

    let host = local_host(memory_limit)
        .map_err(|e| Stop::problem(format!("cannot start the plugin host: {e:#}")))?;
    let file = display_path(&args.file);
    let plugin = host.load(&file, &wasm).map_err(|e| {
        Stop::problem(format!(
            "{e}\n(`longrun plugin check {file}` says more about what to fix)"
        ))
    })?;
    let description = plugin.description();
    check_params(description, &params).map_err(|refusal| match refusal {
        ParamsRefusal::Invalid(message) => Stop::usage(message),
        ParamsRefusal::BadSchema(message) => Stop::problem(message),
    })?;
    let inputs = resolve_inputs(description, input_args).map_err(Stop::usage)?;

    let display = RunDisplay::new(cancel);
    display.line(&format!(
        "running {} {} ({}; memory limit {}, deadline {} s)",
        description.name,
        description.version,
        plugin.world(),
        byte_size(memory_limit),
        args.timeout
    ));
    let started = Instant::now();
    // With `--output`, the result is written beside it as it comes and
    // renamed over it once the run has succeeded.
    let spool = args.output.as_deref().map(spool_path);
    let request = RunRequest {
        params_json: params.to_string(),
        inputs,
        timeout: Duration::from_secs(args.timeout),
        result: spool
            .clone()
            .map_or(ResultTarget::Memory, ResultTarget::File),
    };
    let outcome = plugin.run(request, &display);
    display.finish();
    let elapsed = started.elapsed();
    if outcome.is_err()
        && let Some(spool) = &spool
    {
        let _ = std::fs::remove_file(spool);
    }
    match outcome {
        Ok(output) => deliver(args, output, elapsed),
        Err(RunFailure::Canceled) => Err(Stop {
            message: "the run was canceled".into(),
            code: EXIT_CANCELED,
        }),
        Err(failure) => Err(Stop::problem(explain(&failure))),
    }
}

/// Where the result of a run with `--output PATH` is written until it is
/// complete: `PATH.partial`.
fn spool_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

/// Moves the result to `--output` or writes it to stdout, and says so on
/// stderr.
fn deliver(args: &RunArgs, output: Output, elapsed: Duration) -> Result<(), Stop> {
    let size = output.data.size();
    let destination = match &args.output {
        Some(path) => {
            let written = match output.data {
                ResultData::File { path: spool, .. } => std::fs::rename(&spool, path),
                ResultData::Bytes(bytes) => std::fs::write(path, bytes),
            };
            written.map_err(|e| Stop::problem(format!("cannot write {}: {e}", path.display())))?;
            path.display().to_string()
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            output
                .data
                .into_bytes()
                .and_then(|bytes| stdout.write_all(&bytes))
                .and_then(|()| stdout.flush())
                .map_err(|e| Stop::problem(format!("cannot write the result to stdout: {e}")))?;
            "stdout".to_owned()
        }
    };
    eprintln!(
        "done in {:.2} s: {} bytes of {} written to {destination}",
        elapsed.as_secs_f64(),
        size,
        output.media_type
    );
    Ok(())
}

/// `bytes` for people: in the largest binary unit that divides it.
fn byte_size(bytes: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if bytes >= size && bytes.is_multiple_of(size) {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

/// A failed run, for people, with what to try where there is something.
fn explain(failure: &RunFailure) -> String {
    let hint = match failure {
        RunFailure::MemoryLimit { .. } => {
            "\n(raise it with --memory-limit, e.g. --memory-limit 1GiB; the server's is \
             --memory-limit-mib)"
        }
        RunFailure::Deadline(_) => "\n(give it longer with --timeout SECS)",
        RunFailure::Trap(_) => {
            "\n(a trap is a bug in the plugin: a panic, an out-of-bounds access, a stack \
             overflow; the plugin's stderr above may say more)"
        }
        _ => "",
    };
    format!("{failure}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_for_people() {
        assert_eq!(byte_size(512 << 20), "512 MiB");
        assert_eq!(byte_size(3 << 30), "3 GiB");
        assert_eq!(byte_size(2048), "2 KiB");
        assert_eq!(byte_size(1000), "1000 bytes");
    }

    #[test]
    fn failures_say_what_to_try() {
        let memory = explain(&RunFailure::MemoryLimit { limit_bytes: 1024 });
        assert!(memory.contains("1024 bytes") && memory.contains("--memory-limit"));
        let deadline = explain(&RunFailure::Deadline(Duration::from_secs(3)));
        assert!(deadline.contains("--timeout"), "{deadline}");
        let plugin = explain(&RunFailure::Plugin {
            code: "invalid-input".into(),
            message: "not text".into(),
        });
        assert_eq!(
            plugin,
            "the plugin reported an error: invalid-input: not text"
        );
    }
}
