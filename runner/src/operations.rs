//! The operations this runner offers: each loaded plugin together with its
//! compiled params schema, ready to validate start requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::plugin::{Plugin, Registry};
use crate::problem::{Problem, ProblemKind};

/// One operation: its plugin and its params validator.
pub struct Operation {
    /// The plugin that runs it.
    pub plugin: Plugin,
    params: jsonschema::Validator,
}

impl Operation {
    /// Check `params` against the operation's schema; the problem lists every
    /// violation with its JSON pointer.
    pub fn validate_params(&self, params: &Value) -> Result<(), Problem> {
        let errors: Vec<Value> = self
            .params
            .iter_errors(params)
            .map(|error| {
                serde_json::json!({
                    "pointer": error.instance_path.to_string(),
                    "message": error.to_string(),
                })
            })
            .collect();
        if errors.is_empty() {
            return Ok(());
        }
        let first = errors[0]["message"].as_str().unwrap_or_default().to_owned();
        Err(Problem::new(
            ProblemKind::InvalidParams,
            format!(
                "the params do not match the schema of `{}`: {first}",
                self.plugin.description().name
            ),
        )
        .with("errors", errors))
    }
}

/// The operations, by name.
pub struct Operations {
    registry: Arc<Registry>,
    by_name: BTreeMap<String, Operation>,
}

impl Operations {
    /// Compile the params schema of every plugin in `registry`; a plugin whose
    /// schema does not compile is not offered (the reason is logged).
    pub fn new(registry: Arc<Registry>) -> Self {
        let mut by_name = BTreeMap::new();
        for plugin in registry.iter() {
            let description = plugin.description();
            let params = match jsonschema::validator_for(&description.params_schema) {
                Ok(params) => params,
                Err(e) => {
                    tracing::error!(
                        "plugin {} is not offered: its params schema is not a valid JSON Schema: {e}",
                        plugin.origin()
                    );
                    continue;
                }
            };
            by_name.insert(
                description.name.clone(),
                Operation {
                    plugin: plugin.clone(),
                    params,
                },
            );
        }
        Self { registry, by_name }
    }

    /// The operation called `name`.
    pub fn get(&self, name: &str) -> Option<&Operation> {
        self.by_name.get(name)
    }

    /// Every operation, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Operation> {
        self.by_name.values()
    }

    /// The plugin registry behind these operations.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }
}
