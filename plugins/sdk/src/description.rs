//! [`Description`] and [`InputSpec`]: what an operation says about itself
//! (what `GET /v1/operations/{op}` shows).

/// What an operation is: its name and version, its stages, its inputs, its
/// params schema and the media type of its result. Built with methods:
///
/// ```
/// use longrun_plugin::{Description, InputSpec};
///
/// let description = Description::new("text-diff", env!("CARGO_PKG_VERSION"))
///     .title("Diff two texts")
///     .description("A unified diff of `left` and `right`.")
///     .stage("read", 45)
///     .stage("diff", 10)
///     .stage("render", 45)
///     .input(InputSpec::new("left").description("The old text").required())
///     .input(InputSpec::new("right").description("The new text").required())
///     .params_schema(r#"{"type": "object", "additionalProperties": false}"#)
///     .result_media_type("text/x-diff");
/// assert_eq!(description.stages().len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) title: String,
    pub(crate) description: String,
    pub(crate) stages: Vec<(String, u32)>,
    pub(crate) inputs: Vec<InputSpec>,
    pub(crate) params_schema: String,
    pub(crate) result_media_type: String,
}

impl Description {
    /// An operation named `name` (lowercase letters, digits and `-`, 1 to 64
    /// characters) at `version` (semver; `env!("CARGO_PKG_VERSION")` is the
    /// usual choice). It starts with no stages and no inputs, the title
    /// `name`, params schema `{"type": "object"}` and result media type
    /// `application/octet-stream`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Description {
        let name = name.into();
        Description {
            title: name.clone(),
            name,
            version: version.into(),
            description: String::new(),
            stages: Vec::new(),
            inputs: Vec::new(),
            params_schema: r#"{"type": "object"}"#.into(),
            result_media_type: "application/octet-stream".into(),
        }
    }

    /// A short title for people.
    pub fn title(mut self, title: impl Into<String>) -> Description {
        self.title = title.into();
        self
    }

    /// A longer description for people.
    pub fn description(mut self, description: impl Into<String>) -> Description {
        self.description = description.into();
        self
    }

    /// Adds a stage, after those added before. `weight` is the stage's share
    /// of the overall progress, relative to the other stages' weights (if
    /// every weight is 0, the stages count equally).
    pub fn stage(mut self, name: impl Into<String>, weight: u32) -> Description {
        self.stages.push((name.into(), weight));
        self
    }

    /// Adds an input, after those added before.
    pub fn input(mut self, input: InputSpec) -> Description {
        self.inputs.push(input);
        self
    }

    /// The JSON Schema (draft 2020-12), as JSON text, of the `params` object.
    pub fn params_schema(mut self, schema: impl Into<String>) -> Description {
        self.params_schema = schema.into();
        self
    }

    /// The media type of the result.
    pub fn result_media_type(mut self, media_type: impl Into<String>) -> Description {
        self.result_media_type = media_type.into();
        self
    }

    /// The operation name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The stages, in order, with their weights.
    pub fn stages(&self) -> &[(String, u32)] {
        &self.stages
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> &[InputSpec] {
        &self.inputs
    }
}

/// One input an operation accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) media_types: Vec<String>,
    pub(crate) required: bool,
    pub(crate) max_bytes: Option<u64>,
}

impl InputSpec {
    /// An optional input named `name`, of any media type and size.
    pub fn new(name: impl Into<String>) -> InputSpec {
        InputSpec {
            name: name.into(),
            description: String::new(),
            media_types: Vec::new(),
            required: false,
            max_bytes: None,
        }
    }

    /// What the input is for, for people.
    pub fn description(mut self, description: impl Into<String>) -> InputSpec {
        self.description = description.into();
        self
    }

    /// The media types accepted (none given: any).
    pub fn media_types<I, S>(mut self, media_types: I) -> InputSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.media_types = media_types.into_iter().map(Into::into).collect();
        self
    }

    /// Makes the input required.
    pub fn required(mut self) -> InputSpec {
        self.required = true;
        self
    }

    /// The largest size accepted, in bytes.
    pub fn max_bytes(mut self, max_bytes: u64) -> InputSpec {
        self.max_bytes = Some(max_bytes);
        self
    }

    /// The input's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a start request must give it.
    pub fn is_required(&self) -> bool {
        self.required
    }
}
