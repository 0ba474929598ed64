//! The guest SDK for [longrun] operation plugins.
//!
//! A plugin is one operation: a type that implements [`Operation`], exported
//! with [`export!`]. The SDK hides the WebAssembly component glue (the
//! `wit-bindgen` bindings of the WIT world `longrun:plugin/chunked-plugin` in
//! `spec/wit/plugin.wit`) and gives the operation what it needs:
//!
//! - **typed params**: [`Operation::Params`] is deserialized from the request's
//!   `params` JSON; a mismatch fails the run with code `invalid-params`;
//! - **inputs read in pieces**: an [`Input`] stays with the runner until it is
//!   read, through [`Input::reader`] or [`Input::read_at`], so a 100 MB input
//!   never has to fit in the plugin's memory at once
//!   ([`Input::reader_with_progress`] reports the stage's progress as it reads);
//! - **a result written in pieces**: [`Run::output`] is an [`std::io::Write`]
//!   that sends the bytes to the runner as they come;
//! - **progress by stage**: [`Run::stage`] enters one of the stages the
//!   [`Description`] declares, [`Run::advance`] reports how far the stage has
//!   come, and the SDK turns both into one overall percentage (weighted by the
//!   stages' [weights](Description::stage)) that never goes down;
//! - **cancellation**: once the job is canceled, [`Run::stage`],
//!   [`Run::advance`] and [`Run::check_cancelled`] return
//!   [`Error::canceled`], so `?` ends the run promptly;
//! - **logging** to the job's log: [`Run::log`], [`Run::info`], [`Run::warn`];
//! - **errors with codes**: [`Error`].
//!
//! # Example
//!
//! ```
//! use longrun_plugin::{Description, Error, InputSpec, Inputs, Operation, Run};
//! use serde::Deserialize;
//! use std::io::{BufRead, Write};
//!
//! /// Counts the lines of the input `text`.
//! pub struct LineCount;
//!
//! #[derive(Deserialize)]
//! #[serde(rename_all = "camelCase", deny_unknown_fields)]
//! pub struct Params {
//!     #[serde(default)]
//!     skip_empty: bool,
//! }
//!
//! impl Operation for LineCount {
//!     type Params = Params;
//!
//!     fn describe() -> Description {
//!         Description::new("line-count", "0.1.0")
//!             .title("Count lines")
//!             .stage("count", 1)
//!             .input(InputSpec::new("text").required())
//!             .params_schema(r#"{"type": "object", "properties": {"skipEmpty": {"type": "boolean"}}}"#)
//!             .result_media_type("application/json")
//!     }
//!
//!     fn run(params: Params, inputs: &Inputs, run: &mut Run) -> Result<(), Error> {
//!         let text = inputs.require("text")?;
//!         run.stage("count")?;
//!         let (mut lines, mut read) = (0u64, 0u64);
//!         for line in text.reader().split(b'\n') {
//!             let line = line.map_err(Error::from)?;
//!             read += line.len() as u64 + 1;
//!             run.advance(read, text.size())?;
//!             if !(params.skip_empty && line.is_empty()) {
//!                 lines += 1;
//!             }
//!         }
//!         write!(run.output(), "{{\"lines\": {lines}}}").map_err(Error::from)?;
//!         Ok(())
//!     }
//! }
//!
//! // In the plugin crate: `longrun_plugin::export!(LineCount);`
//!
//! // Natively, in a test:
//! let done = longrun_plugin::testing::Harness::new(r#"{"skipEmpty": true}"#)
//!     .input("text", "text/plain", b"a\n\nb\n".to_vec())
//!     .run::<LineCount>();
//! assert_eq!(done.result.unwrap(), br#"{"lines": 2}"#);
//! ```
//!
//! # Building
//!
//! A plugin crate is a `cdylib` built for `wasm32-wasip2`
//! (`cargo build --release --target wasm32-wasip2`); the `.wasm` it produces
//! is the component the runner loads. `longrun plugin new NAME` writes such a
//! crate, and `longrun plugin check` / `longrun plugin run` try it without a
//! server.
//!
//! [longrun]: https://example.invalid/longrun

mod description;
mod error;
mod host;
mod input;
mod progress;
mod run;
pub mod testing;

#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod bindings;

/// The tutorial `plugins/README.md`, whose Rust examples run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Tutorial;
#[doc(hidden)]
pub mod guest;

pub use description::{Description, InputSpec};
pub use error::Error;
pub use host::LogLevel;
pub use input::{Input, InputReader, InputSource, Inputs};
pub use run::{Output, Run};

/// One operation: what it is ([`Operation::describe`]) and how it runs
/// ([`Operation::run`]). Export it from the plugin crate with [`export!`].
pub trait Operation {
    /// The `params` object of a request, deserialized from its JSON (no
    /// params count as `{}`). The runner has already validated it against
    /// the description's params schema; a value that is not an object, or
    /// still does not deserialize, fails the run with code `invalid-params`.
    /// Use `serde_json::Value` to take it as is.
    type Params: serde::de::DeserializeOwned;

    /// What the operation is. Called when the runner loads the plugin, and
    /// at the start of every run (for the stages); must not depend on input.
    fn describe() -> Description;

    /// Runs the operation: read `inputs`, report through `run`, write the
    /// result to [`Run::output`]. Returning `Err` fails the job with the
    /// error's code and message.
    fn run(params: Self::Params, inputs: &Inputs, run: &mut Run) -> Result<(), Error>;
}

/// Exports an [`Operation`] as the plugin's component: put
/// `longrun_plugin::export!(MyOperation);` once in the plugin crate (it
/// does nothing when the crate is not built for WebAssembly, so the crate's
/// native tests still build).
#[macro_export]
macro_rules! export {
    ($operation:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct LongrunPluginExport;

            impl $crate::bindings::Guest for LongrunPluginExport {
                fn describe() -> $crate::bindings::Description {
                    $crate::guest::describe::<$operation>()
                }

                fn run_chunked(
                    params: ::std::string::String,
                    inputs: ::std::vec::Vec<$crate::bindings::InputInfo>,
                ) -> ::std::result::Result<::std::string::String, $crate::bindings::Error> {
                    $crate::guest::run::<$operation>(params, inputs)
                }
            }

    $crate::bindings::export!(LongrunPluginExport with_types_in $crate::bindings);
        };
    };
}
