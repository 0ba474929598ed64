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
    let function = error
        .downcast_ref::<WasmBacktrace>()
        .and_then(innermost_guest_function);
    let place = function
        .map(|f| format!(" in `{f}`"))
        .unwrap_or_default();
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
        Trap::MemoryOutOfBounds if fault_address(error).is_some_and(is_wrapped_stack_address) => {
            format!(
                "stack overflow (the stack in linear memory ran out: an access just below \
                 address 0 wrapped around to {:#x}; deep or endless recursion){place}",
                fault_address(error).unwrap_or_default()
            )
        }
        Trap::Interrupt => "interrupted".to_owned(),
        other => format!("{other}{place}"),
    };
    RunFailure::Trap(message)
}

/// The wasm address of a memory fault, from the context wasmtime adds to an
/// out-of-bounds trap ("memory fault at wasm address 0x… in linear memory of
/// size 0x…").
fn fault_address(error: &wasmtime::Error) -> Option<u64> {
    error.chain().find_map(|cause| {
        let text = cause.to_string();
        let hex = text.strip_prefix("memory fault at wasm address 0x")?;
        let end = hex
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(hex.len());
        u64::from_str_radix(&hex[..end], 16).ok()
    })
}

/// Whether a faulting address is what a stack pointer that went below 0 in
/// a 32-bit memory looks like. Compilers for wasm32 (Rust's among them) put
/// the stack at the bottom of linear memory, growing down, so a stack
/// overflow is an access just under 4 GiB rather than a wasm stack overflow.
fn is_wrapped_stack_address(address: u64) -> bool {
    (0xff00_0000..=0xffff_ffff).contains(&address)
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// The innermost frame that is the plugin's own code rather than its
/// standard library, allocator or panic machinery; else the innermost frame.
fn innermost_guest_function(backtrace: &WasmBacktrace) -> Option<String> {
    let names: Vec<String> = backtrace
        .frames()
        .iter()
        .filter_map(|frame| frame.func_name().map(demangle))
        .collect();
    names
        .iter()
        .find(|name| !is_runtime_function(name))
        .or_else(|| names.first())
        .cloned()
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

/// Demangles a Rust symbol (legacy `_ZN…E` scheme, hash dropped); other names
/// are returned as they are.
pub(crate) fn demangle(name: &str) -> String {
    let Some(mut rest) = name.strip_prefix("_ZN") else {
        return name.to_owned();
    };
    let mut parts: Vec<String> = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix('E') {
            if after.is_empty() || after.starts_with('.') {
                break;
            }
        }
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let Ok(len) = rest[..digits].parse::<usize>() else {
            return name.to_owned();
        };
        let Some(part) = rest.get(digits..digits + len) else {
            return name.to_owned();
        };
        parts.push(part.to_owned());
        rest = &rest[digits + len..];
    }
    if parts
        .last()
        .is_some_and(|p| p.len() == 17 && p.starts_with('h') && p[1..].bytes().all(|b| b.is_ascii_hexdigit()))
    {
        parts.pop();
    }
    parts
        .iter()
        .map(|p| unescape(p))
        .collect::<Vec<_>>()
        .join("::")
}

/// Undoes the legacy mangling's escapes (`$LT$`, `..`, `$u7b$`, …).
fn unescape(part: &str) -> String {
    // A leading `$` is written `_$`.
    let part = part
        .strip_prefix('_')
        .filter(|p| p.starts_with('$'))
        .unwrap_or(part);
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("..") {
            out.push_str("::");
            rest = after;
        } else if let Some(after) = rest.strip_prefix('$') {
            let Some(end) = after.find('$') else {
                out.push_str(rest);
                break;
            };
            let code = &after[..end];
            let decoded = match code {
                "SP" => Some('@'),
                "BP" => Some('*'),
                "RF" => Some('&'),
                "LT" => Some('<'),
                "GT" => Some('>'),
                "LP" => Some('('),
                "RP" => Some(')'),
                "C" => Some(','),
                _ => code
                    .strip_prefix('u')
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32),
            };
            match decoded {
                Some(c) => out.push(c),
                None => {
                    out.push('$');
                    out.push_str(code);
                    out.push('$');
                }
            }
            rest = &after[end + 1..];
        } else {
            let c = rest.chars().next().unwrap_or_default();
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demangles_legacy_rust_symbols() {
        assert_eq!(
            demangle("_ZN7hostile7recurse17h0123456789abcdefE"),
            "hostile::recurse"
        );
        assert_eq!(
            demangle("_ZN4core9panicking5panic17h1111111111111111E"),
            "core::panicking::panic"
        );
        assert_eq!(
            demangle("_ZN53_$LT$hostile..Component$u20$as$u20$hostile..Guest$GT$3run17habcdefabcdefabcdE"),
            "<hostile::Component as hostile::Guest>::run"
        );
        assert_eq!(demangle("plain_name"), "plain_name");
        assert_eq!(demangle("_ZNbroken"), "_ZNbroken");
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
        assert!(is_runtime_function("<alloc::vec::Vec<T> as core::clone::Clone>::clone"));
        assert!(!is_runtime_function("hostile::recurse"));
        assert!(!is_runtime_function("<hostile::Component as hostile::Guest>::run"));
    }
}
