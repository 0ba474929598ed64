//! Reports of a run: for people ([`terminal`]), for CI ([`junit`]) and for
//! tools ([`json`]).
//!
//! Every format carries the suite version, the protocol version it checks, the
//! configuration (header values redacted) and every verdict. A failure carries
//! the requirement's ID, level and text, the exchange that showed it and a curl
//! command that repeats that exchange.

pub mod json;
pub mod junit;
pub mod terminal;

use std::time::Duration;

use serde::Serialize;

use crate::config::ConfigSummary;
use crate::server_info::ServerInfo;
use crate::verdict::{CheckResult, Counts, exit_code};

/// The suite's own version.
pub const SUITE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A report format and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// A summary for people.
    Terminal,
    /// JUnit XML.
    Junit,
    /// JSON.
    Json,
}

/// `--report FORMAT[=PATH]`: a format and its destination (standard output
/// when there is no path or the path is `-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    /// The format.
    pub format: Format,
    /// The file to write, or `None` for standard output.
    pub path: Option<std::path::PathBuf>,
}

impl std::str::FromStr for ReportSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, path) = match s.split_once('=') {
            Some((name, path)) => (name, Some(path)),
            None => (s, None),
        };
        let format = match name {
            "terminal" => Format::Terminal,
            "junit" => Format::Junit,
            "json" => Format::Json,
            other => {
                return Err(format!(
                    "unknown report format {other:?}: use terminal, junit or json"
                ));
            }
        };
        let path = match path {
            None | Some("-") => None,
            Some("") => return Err(format!("--report {s}: the path is empty")),
            Some(p) => Some(p.into()),
        };
        Ok(ReportSpec { format, path })
    }
}

/// What the server said about itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerSummary {
    /// `name`.
    pub name: Option<String>,
    /// `version`.
    pub version: Option<String>,
    /// `protocolVersion`.
    pub protocol_version: Option<String>,
    /// `conformanceClasses`.
    pub conformance_classes: Vec<String>,
}

impl ServerSummary {
    /// The summary of a service document.
    pub fn of(info: &ServerInfo) -> ServerSummary {
        let text = |key: &str| {
            info.document
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        ServerSummary {
            name: text("name"),
            version: text("version"),
            protocol_version: text("protocolVersion"),
            conformance_classes: info.classes.clone(),
        }
    }
}

/// Everything a run found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `longrun-conformance`.
    pub suite: &'static str,
    /// The suite's version.
    pub suite_version: &'static str,
    /// The protocol version of the embedded `spec/protocol.md`.
    pub spec_version: String,
    /// The `X-Conformance-Run` value.
    pub run_id: String,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// How long it took.
    pub duration_ms: u64,
    /// The configuration, secrets redacted.
    pub config: ConfigSummary,
    /// The server's description of itself, when it gave a usable one.
    pub server: Option<ServerSummary>,
    /// Whether SHOULD failures fail the run.
    pub strict: bool,
    /// Verdict counts.
    pub counts: Counts,
    /// The exit code the run ends with.
    pub exit_code: i32,
    /// Every check's result, in check order.
    pub results: Vec<CheckResult>,
}

impl RunReport {
    /// Assemble a report.
    pub fn new(
        started_at: time::OffsetDateTime,
        duration: Duration,
        config: ConfigSummary,
        server: Option<ServerSummary>,
        strict: bool,
        results: Vec<CheckResult>,
    ) -> RunReport {
        let mut report = RunReport {
            suite: "longrun-conformance",
            suite_version: SUITE_VERSION,
            spec_version: crate::spec::spec().version.clone(),
            run_id: config.run_id.clone(),
            started_at: started_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            duration_ms: duration.as_millis() as u64,
            config,
            server,
            strict,
            counts: Counts::default(),
            exit_code: 0,
            results,
        };
        report.recount();
        report
    }

    /// Recompute counts and the exit code (after expected failures are applied).
    pub fn recount(&mut self) {
        self.counts = Counts::of(&self.results);
        self.exit_code = exit_code(&self.results, self.strict);
    }

    /// The result of one check.
    pub fn result(&self, id: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.id == id)
    }

    /// Write the report in `spec`'s format to its destination.
    pub fn write(&self, spec: &ReportSpec) -> std::io::Result<()> {
        let text = match spec.format {
            // Colours only for a person at a terminal, not in CI logs or files.
            Format::Terminal => terminal::render(
                self,
                spec.path.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()),
            ),
            Format::Junit => junit::render(self),
            Format::Json => json::render(self),
        };
        match &spec.path {
            None => {
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()
            }
            Some(path) => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(path, text)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_specs_parse() {
        assert_eq!(
            "junit=out/r.xml".parse::<ReportSpec>(),
            Ok(ReportSpec {
                format: Format::Junit,
                path: Some("out/r.xml".into())
            })
        );
        assert_eq!(
            "json=-".parse::<ReportSpec>(),
            Ok(ReportSpec {
                format: Format::Json,
                path: None
            })
        );
        assert_eq!(
            "terminal".parse::<ReportSpec>().unwrap().format,
            Format::Terminal
        );
        assert!("pdf".parse::<ReportSpec>().is_err());
        assert!("json=".parse::<ReportSpec>().is_err());
    }
}
