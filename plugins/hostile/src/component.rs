//! The component bindings: the `longrun:plugin/plugin` world implemented by
//! [`crate::behaviour`].

wit_bindgen::generate!({
    path: "../../spec/wit",
    world: "longrun:plugin/plugin",
});

use longrun::plugin::host;
use longrun::plugin::types::{LogLevel, ProgressUpdate};

use crate::behaviour::{self, Log};

/// The exported component.
struct Hostile;

/// The host's log import.
struct HostLog;

impl Log for HostLog {
    fn log(&mut self, message: &str) {
        host::log(LogLevel::Info, message);
    }
}

impl Guest for Hostile {
    fn describe() -> Description {
        Description {
            name: behaviour::NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: behaviour::TITLE.into(),
            description: behaviour::DESCRIPTION.into(),
            stages: behaviour::STAGES
                .iter()
                .map(|&stage| stage.into())
                .collect(),
            inputs: Vec::new(),
            params_schema: behaviour::PARAMS_SCHEMA.into(),
            result_media_type: behaviour::RESULT_MEDIA_TYPE.into(),
        }
    }

    fn run(params: String, _inputs: Vec<Input>) -> Result<Output, Error> {
        let to_error = |failure: behaviour::Failure| Error {
            code: failure.code.into(),
            message: failure.message,
        };
        let mode = behaviour::parse_params(&params).map_err(to_error)?;
        // Enter the single stage; the answer does not matter to a hostile plugin.
        let _ = host::progress(&ProgressUpdate {
            amount: None,
            stage: Some("run".into()),
            message: Some(format!("mode {mode}")),
        });
        behaviour::run(mode, &mut HostLog)
            .map(|output| Output {
                media_type: output.media_type.into(),
                data: output.data,
            })
            .map_err(to_error)
    }
}

export!(Hostile);
