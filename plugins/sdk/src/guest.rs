//! The glue between the component's exports and an [`Operation`]: what
//! [`crate::export!`] expands to calls these. Not a public API.

use std::rc::Rc;

use crate::Operation;
use crate::error::Error;
use crate::host::Host;
use crate::input::{Input, Inputs};
use crate::run::Run;

/// One input as the runner announced it.
pub(crate) struct Announced {
    pub(crate) name: String,
    pub(crate) media_type: String,
    pub(crate) size: u64,
}

/// Runs `O` with `params` and `inputs` against `host`: the media type of
/// the result (if the operation set one), or the error.
pub(crate) fn run_with<O: Operation>(
    host: Rc<dyn Host>,
    params: &str,
    inputs: Vec<Announced>,
) -> Result<Option<String>, Error> {
    let params = parse_params::<O::Params>(params)?;
    let inputs = Inputs::new(
        inputs
            .into_iter()
            .enumerate()
            .map(|(index, input)| {
                Input::new(
                    host.clone(),
                    u32::try_from(index).unwrap_or(u32::MAX),
                    input.name,
                    input.media_type,
                    input.size,
                )
            })
            .collect(),
    );
    let mut run = Run::new(host, O::describe().stages());
    O::run(params, &inputs, &mut run)?;
    run.finish()
}

/// The params: a JSON object (empty text and `null` count as `{}`), then
/// deserialized into `P`.
fn parse_params<P: serde::de::DeserializeOwned>(text: &str) -> Result<P, Error> {
    let invalid = |e: serde_json::Error| {
        Error::invalid_params(format!("the params do not fit the operation: {e}"))
    };
    let value = match text.trim() {
        "" | "null" => serde_json::Value::Object(serde_json::Map::new()),
        text => serde_json::from_str(text).map_err(invalid)?,
    };
    if !value.is_object() {
        return Err(Error::invalid_params(format!(
            "the params must be a JSON object, not {value}"
        )));
    }
    serde_json::from_value(value).map_err(invalid)
}

#[cfg(target_arch = "wasm32")]
pub use self::component::{describe, run};

#[cfg(target_arch = "wasm32")]
mod component {
    use std::rc::Rc;

    use super::{Announced, run_with};
    use crate::Operation;
    use crate::bindings::longrun::plugin::{chunked_io, host, types};
    use crate::bindings::{Description, Error, InputInfo};
    use crate::host::{Host, LogLevel, Report};

    /// The `describe` export.
    pub fn describe<O: Operation>() -> Description {
        let d = O::describe();
        Description {
            name: d.name,
            version: d.version,
            title: d.title,
            description: d.description,
            stages: d.stages.into_iter().map(|(name, _)| name).collect(),
            inputs: d
                .inputs
                .into_iter()
                .map(|input| types::InputSpec {
                    name: input.name,
                    description: input.description,
                    media_types: input.media_types,
                    required: input.required,
                    max_bytes: input.max_bytes,
                })
                .collect(),
            params_schema: d.params_schema,
            result_media_type: d.result_media_type,
        }
    }

    /// The `run-chunked` export.
    pub fn run<O: Operation>(params: String, inputs: Vec<InputInfo>) -> Result<String, Error> {
        let inputs = inputs
            .into_iter()
            .map(|input| Announced {
                name: input.name,
                media_type: input.media_type,
                size: input.size,
            })
            .collect();
        match run_with::<O>(Rc::new(Imports), &params, inputs) {
            Ok(media_type) => Ok(media_type.unwrap_or_default()),
            Err(error) => Err(Error {
                code: error.code().to_owned(),
                message: error.message().to_owned(),
            }),
        }
    }

    /// The runner, through the component's imports.
    struct Imports;

    impl Host for Imports {
        fn log(&self, level: LogLevel, message: &str) {
            let level = match level {
                LogLevel::Trace => types::LogLevel::Trace,
                LogLevel::Debug => types::LogLevel::Debug,
                LogLevel::Info => types::LogLevel::Info,
                LogLevel::Warn => types::LogLevel::Warn,
                LogLevel::Error => types::LogLevel::Error,
            };
            host::log(level, message);
        }

        fn progress(&self, report: Report<'_>) -> bool {
            host::progress(&types::ProgressUpdate {
                amount: report.percent.map(types::Amount::Percent),
                stage: report.stage.map(str::to_owned),
                message: report.message.map(str::to_owned),
            })
        }

        fn is_cancelled(&self) -> bool {
            host::is_cancelled()
        }

        fn read_input(&self, index: u32, offset: u64, length: u32) -> Result<Vec<u8>, String> {
            chunked_io::read_input(index, offset, length)
        }

        fn write_result(&self, data: &[u8]) -> Result<(), String> {
            chunked_io::write_result(data)
        }
    }
}
