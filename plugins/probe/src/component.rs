//! The component bindings: the `longrun:plugin/plugin` world implemented by
//! [`crate::operation`], with the host imports behind [`operation::Host`].

wit_bindgen::generate!({
    path: "../../spec/wit",
    world: "longrun:plugin/plugin",
});

use longrun::plugin::host;
use longrun::plugin::types::{Amount, InputSpec, LogLevel, ProgressUpdate};

use crate::operation::{self, InputRef, Level, Update};

/// The exported component.
struct Probe;

/// The host imports of the running component.
struct ComponentHost;

impl operation::Host for ComponentHost {
    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
        };
        host::log(level, message);
    }

    fn progress(&mut self, update: Update) -> bool {
        host::progress(&ProgressUpdate {
            amount: Some(Amount::Fraction(update.fraction)),
            stage: Some(update.stage.into()),
            message: Some(update.message),
        })
    }

    fn is_cancelled(&mut self) -> bool {
        host::is_cancelled()
    }
}

impl Guest for Probe {
    fn describe() -> Description {
        Description {
            name: operation::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: operation::TITLE.into(),
            description: operation::DESCRIPTION.into(),
            stages: operation::STAGES
                .iter()
                .map(|&stage| stage.into())
                .collect(),
            inputs: vec![InputSpec {
                name: operation::INPUT.0.into(),
                description: operation::INPUT.1.into(),
                media_types: Vec::new(),
                required: false,
                max_bytes: None,
            }],
            params_schema: operation::PARAMS_SCHEMA.into(),
            result_media_type: operation::RESULT_MEDIA_TYPE.into(),
        }
    }

    fn run(params: String, inputs: Vec<Input>) -> Result<Output, Error> {
        let inputs: Vec<InputRef<'_>> = inputs
            .iter()
            .map(|input| InputRef {
                name: &input.name,
                media_type: &input.media_type,
                data: &input.data,
            })
            .collect();
        operation::run(&params, &inputs, &mut ComponentHost)
            .map(|output| Output {
                media_type: output.media_type,
                data: output.data,
            })
            .map_err(|failure| Error {
                code: failure.code,
                message: failure.message,
            })
    }
}

export!(Probe);
