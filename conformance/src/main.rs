//! `longrun-conformance`: the command line of the conformance suite.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use longrun_conformance::config::{SuiteConfig, Timeouts};
use longrun_conformance::report::{Format, ReportSpec, terminal};
use longrun_conformance::verdict::exit;
use longrun_conformance::{checks, expected, fuzz, spec, suite};

/// Check an HTTP server against the longrun protocol (spec/protocol.md).
///
/// Exit codes: 0 every required check passed; 1 conformance failures; 2 usage
/// error; 3 harness or environment error; 4 nothing ran.
#[derive(Debug, Parser)]
#[command(name = "longrun-conformance", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the checks against a server.
    Run(RunArgs),
    /// Print the requirement matrix: every requirement and the checks citing it.
    List(ListArgs),
    /// Explain a check or a requirement.
    Explain {
        /// A check ID (`cancel.queued`) or a requirement ID (`CANCEL-4`).
        id: String,
    },
    /// Drive random job lifecycles against a server and compare every answer
    /// with a model of the protocol.
    Fuzz(FuzzArgs),
}

#[derive(Debug, clap::Args)]
struct Target {
    /// The server's base URL (without /v1).
    #[arg(long, env = "LONGRUN_CONFORMANCE_BASE_URL")]
    base_url: url::Url,
    /// A header for every request, `Name: value` (repeatable; for authentication).
    #[arg(long = "header", short = 'H', value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// The operation the checks drive (section 21).
    #[arg(long, default_value = "probe")]
    probe_operation: String,
    /// Multiply every harness timeout (for slow servers). Time bounds the
    /// protocol states are not scaled.
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    time_scale: f64,
    /// Seconds one request may take.
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Seconds a short job may take from start to end.
    #[arg(long, default_value_t = 30)]
    job_timeout: u64,
    /// Seconds the suite waits for a callback attempt.
    #[arg(long, default_value_t = 15)]
    callback_timeout: u64,
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    target: Target,
    /// Run only checks matching this glob (check ID, requirement ID or class;
    /// repeatable).
    #[arg(long)]
    only: Vec<String>,
    /// Leave out checks matching this glob (repeatable).
    #[arg(long)]
    skip: Vec<String>,
    /// Treat a broken SHOULD as a failure.
    #[arg(long)]
    strict: bool,
    /// Where the callback receiver listens.
    #[arg(long, default_value = "127.0.0.1:0")]
    callback_bind: std::net::SocketAddr,
    /// The base URL the server is told to call back (default: the receiver's
    /// bound address).
    #[arg(long)]
    callback_url: Option<url::Url>,
    /// How many checks run at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// A report: `terminal`, `junit` or `json`, optionally `=PATH`
    /// (repeatable; default `terminal` to standard output).
    #[arg(long = "report")]
    reports: Vec<ReportSpec>,
    /// A TOML file of known failures, each with a reason.
    #[arg(long)]
    expected_failures: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// Only requirements of this class.
    #[arg(long)]
    class: Option<String>,
    /// Print the checks instead of the requirements.
    #[arg(long)]
    checks: bool,
}

#[derive(Debug, clap::Args)]
struct FuzzArgs {
    #[command(flatten)]
    target: Target,
    /// How many random sequences to run.
    #[arg(long, default_value_t = 32)]
    cases: u32,
    /// The seed (random when absent; printed so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// The longest sequence.
    #[arg(long, default_value_t = 12)]
    max_steps: usize,
}

fn parse_header(s: &str) -> Result<(String, String), String> {
    let (name, value) = s
        .split_once(':')
        .ok_or_else(|| format!("{s:?} is not `Name: value`"))?;
    let name = name.trim();
    if name.is_empty() {
        return Err(format!("{s:?} has no header name"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

fn parse_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 => Ok(f),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

impl Target {
    fn config(&self) -> SuiteConfig {
        let mut config = SuiteConfig::new(self.base_url.clone());
        config.headers = self.headers.clone();
        config.probe_operation = self.probe_operation.clone();
        config.timeouts = Timeouts {
            request: Duration::from_secs(self.request_timeout),
            job: Duration::from_secs(self.job_timeout),
            callback: Duration::from_secs(self.callback_timeout),
            scale: 1.0,
        }
        .scaled(self.time_scale);
        config
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run(args),
        Command::List(args) => list(args),
        Command::Explain { id } => explain(&id),
        Command::Fuzz(args) => fuzz_command(args),
    };
    ExitCode::from(code as u8)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn usage(message: impl std::fmt::Display) -> i32 {
    eprintln!("longrun-conformance: {message}");
    exit::USAGE
}

fn run(args: RunArgs) -> i32 {
    let mut config = args.target.config();
    config.only = args.only;
    config.skip = args.skip;
    config.strict = args.strict;
    config.callback_bind = args.callback_bind;
    config.callback_url = args.callback_url;
    config.concurrency = args.concurrency.max(1);
    let all = checks::all();
    let selected = match suite::select(&all, &config) {
        Ok(selected) => selected,
        Err(e) => return usage(e),
    };
    let entries = match &args.expected_failures {
        None => Vec::new(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| expected::parse(&text, &all))
        {
            Ok(entries) => entries,
            Err(e) => return usage(format!("{}: {e}", path.display())),
        },
    };
    if selected.is_empty() {
        eprintln!("longrun-conformance: no check matches --only/--skip");
        return exit::NOTHING_RAN;
    }
    let mut report = match runtime().block_on(suite::run(config, selected)) {
        Ok(report) => report,
        Err(e) => {
            eprintln!("longrun-conformance: {e:#}");
            return exit::ERROR;
        }
    };
    expected::apply(&mut report.results, &entries);
    report.recount();
    let reports = if args.reports.is_empty() {
        vec![ReportSpec {
            format: Format::Terminal,
            path: None,
        }]
    } else {
        args.reports
    };
    for spec in &reports {
        if let Err(e) = report.write(spec) {
            eprintln!(
                "longrun-conformance: cannot write the {:?} report: {e}",
                spec.format
            );
            return exit::ERROR;
        }
    }
    let on_console = reports
        .iter()
        .any(|r| r.format == Format::Terminal && r.path.is_none());
    if !on_console {
        eprintln!("longrun-conformance: {}", terminal::summary(&report));
    }
    if report.exit_code == exit::ERROR
        && report.server.is_none()
        && report.results.iter().all(|r| r.verdict.name() == "error")
    {
        eprintln!(
            "longrun-conformance: the server at {} could not be reached",
            report.config.base_url
        );
    }
    report.exit_code
}

fn list(args: ListArgs) -> i32 {
    let all = checks::all();
    if args.checks {
        for check in &all {
            if args.class.as_deref().is_some_and(|c| c != check.class) {
                continue;
            }
            println!(
                "{:<40} {:<12} {}  [{}]",
                check.id,
                check.class,
                check.title,
                check.requirements.join(", ")
            );
        }
        return exit::PASSED;
    }
    for req in &spec::spec().requirements {
        if args.class.as_deref().is_some_and(|c| c != req.class) {
            continue;
        }
        let citing: Vec<&str> = all
            .iter()
            .filter(|c| c.requirements.contains(&req.id.as_str()))
            .map(|c| c.id)
            .collect();
        let coverage = if citing.is_empty() {
            checks::unchecked()
                .into_iter()
                .find(|(id, _)| *id == req.id)
                .map_or_else(
                    || "(no check)".to_owned(),
                    |(_, why)| format!("not checked: {why}"),
                )
        } else {
            citing.join(", ")
        };
        println!(
            "{:<16} {:<6} {:<12} {}",
            req.id, req.level, req.class, coverage
        );
    }
    exit::PASSED
}

fn explain(id: &str) -> i32 {
    let all = checks::all();
    if let Some(check) = all.iter().find(|c| c.id == id) {
        println!("{} — {}", check.id, check.title);
        println!("class: {}", check.class);
        if !check.needs.is_empty() {
            println!("needs: {}", check.needs.join(", "));
        }
        println!();
        for req_id in check.requirements {
            if let Some(req) = spec::spec().get(req_id) {
                println!("[{}] {} (§{})", req.id, req.level, req.section);
                println!("  {}", req.text);
            }
        }
        return exit::PASSED;
    }
    if let Some(req) = spec::spec().get(id) {
        println!(
            "[{}] {} (class {}, §{})",
            req.id, req.level, req.class, req.section
        );
        println!("{}", req.text);
        println!();
        let citing: Vec<&str> = all
            .iter()
            .filter(|c| c.requirements.contains(&req.id.as_str()))
            .map(|c| c.id)
            .collect();
        if citing.is_empty() {
            match checks::unchecked().into_iter().find(|(r, _)| *r == req.id) {
                Some((_, why)) => println!("not checked over HTTP: {why}"),
                None => println!("no check cites it"),
            }
        } else {
            println!("checked by: {}", citing.join(", "));
        }
        return exit::PASSED;
    }
    usage(format!(
        "{id:?} is neither a check ID nor a requirement ID (see `list`)"
    ))
}

fn fuzz_command(args: FuzzArgs) -> i32 {
    let config = args.target.config();
    let options = fuzz::Options {
        cases: args.cases,
        seed: args.seed,
        max_steps: args.max_steps.max(1),
    };
    match runtime().block_on(fuzz::run(config, options)) {
        Ok(outcome) => {
            print!("{}", outcome.report);
            outcome.exit_code
        }
        Err(e) => {
            eprintln!("longrun-conformance fuzz: {e:#}");
            exit::ERROR
        }
    }
}
