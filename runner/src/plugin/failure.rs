//! Why a run failed ([`RunFailure`]), and how wasmtime's errors (traps,
//! interrupts, limiter errors) are told apart.

use std::time::Duration;

use wasmtime::{Trap, WasmBacktrace};

use super::sandbox::Interruption;

/// Why a run did not produce a result.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunFailure {
    /// The plugin returned an error of its own (`result::err` from `run`).
    #[error("the plugin reported an error: {code}: {message}")]
    Plugin {
        /// A short machine-readable token, such as `invalid-input`.
        code: String,
        /// What went wrong, for people.
        message: String,
    },
    /// The plugin trapped: a Rust panic (wasm `unreachable`), a stack
    /// overflow, an out-of-bounds access, an exit, …; the message names the
    /// trap and, where the backtrace has it, the guest function.
    #[error("the plugin trapped: {0}")]
    Trap(String),
    /// The plugin tried to use more linear memory than allowed.
    #[error("the plugin exceeded its memory limit of {limit_bytes} bytes")]
    MemoryLimit {
        /// The limit, in bytes.
        limit_bytes: u64,
    },
    /// The run did not finish within its timeout (the `Duration`).
    #[error("the plugin ran past its deadline of {0:?}")]
    Deadline(Duration),
    /// The job was canceled while the plugin ran (or before it started).
    #[error("the job was canceled")]
    Canceled,
    /// The runner could not run the plugin (for example no free instance
    /// slot); not the plugin's fault.
    #[error("runner error: {0}")]
    Runner(String),
}

/// What the host knows about a failed call besides the error itself.
pub(crate) struct FailureContext<'a> {
    /// Set if the epoch callback stopped the run.
    pub(crate) interrupted: Option<Interruption>,
    /// Whether the memory limiter refused a grow.
    pub(crate) memory_limit_hit: bool,
    pub(crate) memory_limit_bytes: u64,
    pub(crate) timeout: Duration,
    /// The guest's stderr, for a Rust panic message.
    pub(crate) stderr: &'a str,
}

/// Turns an error from calling into the guest into a [`RunFailure`].
pub(crate) fn classify(error: &wasmtime::Error, cx: &FailureContext<'_>) -> RunFailure {
    let interrupted = cx
        .interrupted
        .or_else(|| error.downcast_ref::<Interruption>().copied());
    match interrupted {
        Some(Interruption::Canceled) => return RunFailure::Canceled,
        Some(Interruption::Deadline) => return RunFailure::Deadline(cx.timeout),
        None => {}
    }
    if cx.memory_limit_hit {
        return RunFailure::MemoryLimit {
            limit_bytes: cx.memory_limit_bytes,
        };
    }
    let backtrace = error.downcast_ref::<WasmBacktrace>();
    let function = backtrace.and_then(innermost_guest_function);
    let place = function.map(|f| format!(" in `{f}`")).unwrap_or_default();
    if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return RunFailure::Trap(format!(
            "the plugin called exit({}) instead of returning{place}",
            exit.0
        ));
    }
    let Some(trap) = error.downcast_ref::<Trap>() else {
        // A host-side error raised into the guest (for example a WASI call
        // the guest misused). Keep wasmtime's whole message.
        return RunFailure::Trap(first_line(&format!("{error:#}")));
    };
    let message = match trap {
        Trap::UnreachableCodeReached => {
            let panic = panic_message(cx.stderr)
                .map(|p| format!(": {p}"))
                .unwrap_or_default();
            format!("wasm `unreachable` (a Rust panic){place}{panic}")
        }
        Trap::StackOverflow => {
            format!("stack overflow (call stack exhausted, deep or endless recursion){place}")
        }
        Trap::MemoryOutOfBounds if backtrace.is_some_and(is_deep_recursion) => {
            format!(
                "stack overflow (an out-of-bounds access{place} while recursing: the stack in \
                 linear memory ran out; deep or endless recursion)"
            )
        }
        Trap::Interrupt => "interrupted".to_owned(),
        other => format!("{other}{place}"),
    };
    RunFailure::Trap(message)
}

/// How many captured frames of one function make a failure "recursion".
const RECURSION_FRAMES: usize = 10;

/// Whether the backtrace is mostly one function calling itself.
///
/// Compilers for wasm32 (Rust's among them) keep a stack in linear memory,
/// at its bottom, growing down; when it runs out, the stack pointer goes
/// below 0 and the next access is out of bounds. So a guest's stack overflow
/// usually shows up as an out-of-bounds access deep in a recursion rather
/// than as wasmtime's own stack-overflow trap.
fn is_deep_recursion(backtrace: &WasmBacktrace) -> bool {
    let frames = backtrace.frames();
    frames.iter().any(|frame| {
        frames
            .iter()
            .filter(|other| other.func_index() == frame.func_index())
            .count()
            >= RECURSION_FRAMES
    })
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// The innermost frame that is the plugin's own code rather than its
/// standard library, allocator or panic machinery; else the innermost frame.
fn innermost_guest_function(backtrace: &WasmBacktrace) -> Option<String> {
    let names = frame_names(backtrace);
    names
        .iter()
        .find(|name| !is_runtime_function(name))
        .or_else(|| names.first())
        .cloned()
}

/// The demangled function names of the frames, innermost first.
///
/// Taken from the backtrace's `Display`, which demangles Rust (legacy and
/// v0) and C++ names; the raw names if that cannot be read.
fn frame_names(backtrace: &WasmBacktrace) -> Vec<String> {
    let text = backtrace.to_string();
    let names: Vec<String> = text.lines().filter_map(frame_line_name).collect();
    if names.len() == backtrace.frames().len() {
        names
    } else {
        backtrace
            .frames()
            .iter()
            .map(|frame| frame.func_name().unwrap_or("<unknown>").to_owned())
            .collect()
    }
}

/// The function name in one frame line of a backtrace's `Display`
/// (`  12:   0x5184 - module.wasm!name::h0123456789abcdef`), without the
/// symbol hashes.
fn frame_line_name(line: &str) -> Option<String> {
    let (index, rest) = line.trim_start().split_once(": ")?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest.trim_start();
    let rest = match rest.split_once(" - ") {
        Some((offset, after)) if offset.starts_with("0x") => after,
        _ => rest,
    };
    let (_module, name) = rest.split_once('!')?;
    Some(strip_symbol_hashes(name.trim()))
}

/// Drops a legacy Rust symbol hash (`::h` and 16 hex digits at the end) and
/// v0 crate disambiguators (`std[1a2b3c]::…`).
fn strip_symbol_hashes(name: &str) -> String {
    let name = match name.rsplit_once("::h") {
        Some((path, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            path
        }
        _ => name,
    };
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close) if close > 0 && after[..close].bytes().all(|b| b.is_ascii_hexdigit()) => {
                out.push_str(&rest[..open]);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&rest[..=open]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Functions of the guest's runtime rather than of the plugin itself.
fn is_runtime_function(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "__rust",
        "__rdl",
        "__rg",
        "__wasm",
        "rust_panic",
        "rust_begin_unwind",
        "panic_abort::",
        "dlmalloc::",
        "<dlmalloc::",
        "wit_bindgen",
        "<wit_bindgen",
        "cabi_",
        "abort",
        "wasm-component-ld",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || name.contains("::_export_")
}

/// The panic message a Rust guest printed to stderr before aborting, if any:
/// the `panicked at <place>:` line and the message after it, shortened.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let text = &stderr[start..];
    let mut lines = text.lines();
    let place = lines.next()?.trim_end_matches(':');
    let mut message: String = lines
        .take_while(|line| !line.starts_with("note: "))
        .collect::<Vec<_>>()
        .join(" ");
    const MAX: usize = 300;
    if message.len() > MAX {
        let mut end = MAX;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    Some(if message.is_empty() {
        place.to_owned()
    } else {
        format!("{place}: {message}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_function_names_from_backtrace_lines() {
        assert_eq!(
            frame_line_name(
                "    3:   0x51d5 - longrun_hostile.wasm!longrun_hostile::behaviour::recurse::h749b68c39147ea7a"
            )
            .as_deref(),
            Some("longrun_hostile::behaviour::recurse")
        );
        assert_eq!(
            frame_line_name("   0: m.wasm!std[8f2a01bc]::sys::pal::wasi::helpers::abort_internal")
                .as_deref(),
            Some("std::sys::pal::wasi::helpers::abort_internal")
        );
        assert_eq!(
            frame_line_name("  1:   0x10 - m.wasm!<wasm function 7>").as_deref(),
            Some("<wasm function 7>")
        );
        assert_eq!(
            frame_line_name("note: using the `WASMTIME_BACKTRACE_DETAILS=1`"),
            None
        );
        assert_eq!(strip_symbol_hashes("a[xyz]::b[12ab]::c"), "a[xyz]::b::c");
    }

    #[test]
    fn finds_the_panic_message() {
        let stderr = "some output\nthread '<unnamed>' panicked at src/lib.rs:42:9:\nboom: bad input\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("panicked at src/lib.rs:42:9: boom: bad input")
        );
        assert_eq!(panic_message("nothing here"), None);
    }

    #[test]
    fn runtime_functions_are_skipped() {
        assert!(is_runtime_function("core::panicking::panic_fmt"));
        assert!(is_runtime_function("__rust_start_panic"));
        assert!(is_runtime_function(
            "<alloc::vec::Vec<T> as core::clone::Clone>::clone"
        ));
        assert!(!is_runtime_function("hostile::recurse"));
        assert!(!is_runtime_function(
            "<hostile::Component as hostile::Guest>::run"
        ));
    }
}
