//! The plugin author's loop, without a server: `longrun plugin new` writes a
//! plugin crate that builds as is ([`scaffold`]), `longrun plugin check`
//! loads a built component as the server would and says what is wrong with
//! it ([`check`]), and `longrun plugin run` runs it once, locally, with a
//! progress bar ([`local_run`]).
//!
//! Exit codes: [`EXIT_OK`] (0), [`EXIT_PROBLEM`] (1: the plugin has a problem
//! or its run failed), [`EXIT_USAGE`] (2: the command was wrong: bad
//! arguments, an unreadable file, params or inputs that do not fit the
//! operation) and [`EXIT_CANCELED`] (130: Ctrl-C).

pub mod check;
pub mod component_surface;
pub mod local_run;
pub mod progress_bar;
pub mod run_request;
pub mod scaffold;

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Success.
pub const EXIT_OK: i32 = 0;
/// The plugin has a problem, or its run failed.
pub const EXIT_PROBLEM: i32 = 1;
/// The command was wrong (as clap's own usage errors).
pub const EXIT_USAGE: i32 = 2;
/// The run was canceled with Ctrl-C.
pub const EXIT_CANCELED: i32 = 130;

/// `longrun plugin …`: write, check and try out plugins without a server.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate that builds as is (an example operation to start from).
    New(NewArgs),
    /// Load a built plugin as the server would and report what is wrong with it, if anything.
    Check(CheckArgs),
    /// Run a built plugin once, locally, with a progress bar.
    Run(RunArgs),
}

/// Options of `longrun plugin new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The operation name: 1 to 64 lowercase letters, digits and '-', starting with a letter.
    pub name: String,
    /// Where to create the crate [default: ./NAME]; must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The directory of the guest SDK crate `longrun-plugin` [default: the one in the longrun
    /// source tree this binary was built from].
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

/// Options of `longrun plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plugin: a WebAssembly component (`.wasm`).
    pub file: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `longrun plugin run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The plugin: a WebAssembly component (`.wasm`).
    pub file: PathBuf,
    /// An input: NAME=@PATH, or NAME=@PATH;type=MEDIA to give its media type [default: the
    /// first concrete media type the input declares, else application/octet-stream]. Repeatable.
    #[arg(long = "input", value_name = "NAME=@PATH[;type=MEDIA]")]
    pub inputs: Vec<String>,
    /// The params: a JSON object, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub params: String,
    /// Write the result to this file [default: stdout].
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The run's deadline, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// The run's memory cap: bytes, or with a unit (KiB, MiB, GiB).
    #[arg(long, value_name = "BYTES", default_value = "512MiB")]
    pub memory_limit: String,
}

/// Runs a `longrun plugin` subcommand; the process's exit code.
///
/// The checks and runs are blocking, so they run on the blocking pool; a
/// Ctrl-C during `run` cancels the run.
pub async fn run(command: PluginCommand) -> i32 {
    match command {
        PluginCommand::New(args) => blocking(move || scaffold::new_plugin(&args)).await,
        PluginCommand::Check(args) => blocking(move || check::check_command(&args)).await,
        PluginCommand::Run(args) => local_run::run_command(args).await,
    }
}

/// Runs `work` on the blocking pool; a panic in it is reported as a problem.
async fn blocking(work: impl FnOnce() -> i32 + Send + 'static) -> i32 {
    match tokio::task::spawn_blocking(work).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_PROBLEM
        }
    }
}
