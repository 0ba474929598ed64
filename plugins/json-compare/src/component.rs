//! The component bindings: the `longrun:plugin/plugin` world implemented by
//! [`crate::operation`].

wit_bindgen::generate!({
    path: "../../spec/wit",
    world: "longrun:plugin/plugin",
});

use longrun::plugin::host;
use longrun::plugin::types::{Amount, InputSpec, LogLevel, ProgressUpdate};

use crate::operation::{self, InputRef};

/// The exported component.
struct JsonCompare;

impl Guest for JsonCompare {
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
            inputs: operation::INPUTS
                .iter()
                .map(|&(name, description)| InputSpec {
                    name: name.into(),
                    description: description.into(),
                    media_types: operation::INPUT_MEDIA_TYPES
                        .iter()
                        .map(|&media_type| media_type.into())
                        .collect(),
                    required: true,
                    max_bytes: None,
                })
                .collect(),
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
        let outcome = operation::run(&params, &inputs, &mut |update| {
            host::progress(&ProgressUpdate {
                amount: Some(Amount::Percent(update.percent)),
                stage: Some(update.stage.into()),
                message: Some(update.message),
            })
        });
        match outcome {
            Ok(data) => Ok(Output {
                media_type: operation::RESULT_MEDIA_TYPE.into(),
                data,
            }),
            Err(failure) => {
                host::log(
                    LogLevel::Info,
                    &format!("json-compare failed: {}", failure.message),
                );
                Err(Error {
                    code: failure.code.into(),
                    message: failure.message,
                })
            }
        }
    }
}

export!(JsonCompare);
