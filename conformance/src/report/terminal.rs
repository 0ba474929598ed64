//! The report for people: one line per check that did not pass, the details of
//! each failure (requirement text, the exchange, a curl command) and a summary.

use std::fmt::Write;

use super::RunReport;
use crate::verdict::Verdict;

/// Render the report as text; `color` adds ANSI colours.
pub fn render(report: &RunReport, color: bool) -> String {
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };
    let mut out = String::new();
    let server = report.server.as_ref();
    let _ = writeln!(
        out,
        "longrun-conformance {} (protocol {}) against {} — {} {} (protocol {})",
        report.suite_version,
        report.spec_version,
        report.config.base_url,
        server.and_then(|s| s.name.as_deref()).unwrap_or("?"),
        server.and_then(|s| s.version.as_deref()).unwrap_or("?"),
        server
            .and_then(|s| s.protocol_version.as_deref())
            .unwrap_or("?"),
    );
    if let Some(server) = server {
        let _ = writeln!(
            out,
            "claimed classes: {}",
            server.conformance_classes.join(", ")
        );
    }
    let _ = writeln!(out, "run {}", report.run_id);
    let _ = writeln!(out);

    for result in &report.results {
        let (label, code) = match (&result.verdict, &result.expected_failure) {
            (_, Some(_)) => ("XFAIL", "36"),
            (Verdict::Pass, None) => ("PASS", "32"),
            (Verdict::Fail { .. }, None) => ("FAIL", "31;1"),
            (Verdict::Warn { .. }, None) => ("WARN", "33"),
            (Verdict::Skip { .. }, None) => ("SKIP", "2"),
            (Verdict::Blocked { .. }, None) => ("BLOCKED", "35"),
            (Verdict::Error { .. }, None) => ("ERROR", "31"),
        };
        let _ = write!(
            out,
            "{:<8} {:<40} {}",
            paint(code, label),
            result.id,
            result.title
        );
        match &result.verdict {
            Verdict::Skip { reason } => {
                let _ = write!(out, " ({reason})");
            }
            Verdict::Blocked { by } => {
                let _ = write!(out, " (needs {by}, which did not pass)");
            }
            _ => {}
        }
        let _ = writeln!(out);
        if let Some(expected) = &result.expected_failure {
            let _ = writeln!(out, "         expected to fail: {}", expected.reason);
        }
        match &result.verdict {
            Verdict::Fail {
                requirement,
                level,
                message,
            }
            | Verdict::Warn {
                requirement,
                level,
                message,
            } => {
                let _ = writeln!(out, "         [{requirement}] {level}: {message}");
                if let Some(req) = crate::spec::spec().get(requirement) {
                    let _ = writeln!(
                        out,
                        "         spec §{}: {}",
                        req.section,
                        wrap(&req.text, 100, "           ")
                    );
                }
                if let Some(exchange) = result.last_exchange() {
                    let _ = writeln!(
                        out,
                        "         last exchange: {} {} → {}",
                        exchange.method,
                        exchange.url,
                        exchange
                            .status
                            .map_or_else(|| "no answer".to_owned(), |s| s.to_string())
                    );
                    if let Some(body) = &exchange.response_body {
                        let body: String = body.chars().take(600).collect();
                        let _ = writeln!(out, "         answer body: {body}");
                    }
                    let _ = writeln!(out, "         repeat: {}", exchange.curl());
                }
            }
            Verdict::Error { message } => {
                let _ = writeln!(out, "         {message}");
            }
            _ => {}
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", summary(report));
    out
}

/// The one-line summary of a run: its counts, duration and exit code.
pub fn summary(report: &RunReport) -> String {
    let c = &report.counts;
    format!(
        "{} passed, {} failed, {} warnings, {} skipped, {} blocked, {} errors, {} expected failures in {:.1} s → exit {}",
        c.pass,
        c.fail,
        c.warn,
        c.skip,
        c.blocked,
        c.error,
        c.expected_failure,
        report.duration_ms as f64 / 1000.0,
        report.exit_code
    )
}

/// Wrap `text` at `width` columns, indenting continuation lines.
fn wrap(text: &str, width: usize, indent: &str) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split_whitespace() {
        if column > 0 && column + word.len() + 1 > width {
            out.push('\n');
            out.push_str(indent);
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += word.len();
    }
    out
}
