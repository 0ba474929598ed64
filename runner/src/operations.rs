//! The operations this runner offers: each loaded plugin together with its
//! compiled params schema, ready to validate start requests.
//!
//! The set can change while the runner serves, when the plugins directory
//! does ([`reload`]). [`Operations`] holds the current [`OperationSet`]; a
//! reader takes a snapshot (an `Arc`, cheap) that stays as it was for as long
//! as the reader holds it, so one request sees one consistent set.

pub mod reload;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::plugin::Plugin;
use crate::problem::{Problem, ProblemKind};

/// One operation: its plugin and its params validator.
pub struct Operation {
    /// The plugin that runs it.
    pub plugin: Plugin,
    params: jsonschema::Validator,
}

impl Operation {
    /// The operation `plugin` offers, with its params schema compiled; an
    /// error, naming the plugin's origin, when the schema is not a valid JSON
    /// Schema.
    pub fn new(plugin: Plugin) -> Result<Operation, String> {
        let params =
            jsonschema::validator_for(&plugin.description().params_schema).map_err(|e| {
                format!(
                    "plugin {}: its params schema is not a valid JSON Schema: {e}",
                    plugin.origin()
                )
            })?;
        Ok(Operation { plugin, params })
    }

    /// The operation's name.
    pub fn name(&self) -> &str {
        self.plugin.name()
    }

    /// Check `params` against the operation's schema; the problem lists every
    /// violation with its JSON pointer.
    pub fn validate_params(&self, params: &Value) -> Result<(), Problem> {
        validate_params(&self.params, self.name(), params)
    }
}

/// Check `params` against `schema`, the compiled params schema of the
/// operation `name`: the `invalid-params` problem names the first violation
/// in its detail and lists every one, with its JSON pointer, in `errors`.
/// Also what `longrun plugin run` checks, so that it refuses what the server
/// refuses, in the same words.
pub fn validate_params(
    schema: &jsonschema::Validator,
    name: &str,
    params: &Value,
) -> Result<(), Problem> {
    let errors: Vec<Value> = schema
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
        format!("the params do not match the schema of `{name}`: {first}"),
    )
    .with("errors", errors))
}

/// The operations on offer at one moment, by name. Never changes; a change of
/// the plugins makes a new set.
#[derive(Default, Clone)]
pub struct OperationSet {
    by_name: BTreeMap<String, Arc<Operation>>,
}

impl OperationSet {
    /// Add an operation; an error, naming both plugins, when its name is
    /// already taken (the set keeps the first).
    pub fn insert(&mut self, operation: Arc<Operation>) -> Result<(), String> {
        if let Some(existing) = self.by_name.get(operation.name()) {
            return Err(format!(
                "two plugins offer the operation {:?}: {} and {}; remove or rename one of them",
                operation.name(),
                existing.plugin.origin(),
                operation.plugin.origin()
            ));
        }
        self.by_name.insert(operation.name().to_owned(), operation);
        Ok(())
    }

    /// The operation called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Operation>> {
        self.by_name.get(name)
    }

    /// Every operation, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Operation>> {
        self.by_name.values()
    }

    /// How many operations there are.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The operations on offer now: an [`OperationSet`] that [`reload`] may
/// replace while the runner serves.
pub struct Operations {
    current: RwLock<Arc<OperationSet>>,
}

impl Operations {
    /// Offer `set`.
    pub fn new(set: OperationSet) -> Self {
        Self {
            current: RwLock::new(Arc::new(set)),
        }
    }

    /// The operations on offer now, as they stay for as long as the snapshot
    /// is held.
    pub fn snapshot(&self) -> Arc<OperationSet> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The operation called `name`, as offered now.
    pub fn get(&self, name: &str) -> Option<Arc<Operation>> {
        self.snapshot().get(name).cloned()
    }

    /// Offer `set` from now on; returns the set offered until now. Readers
    /// holding a snapshot keep theirs.
    pub fn replace(&self, set: Arc<OperationSet>) -> Arc<OperationSet> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *current, set)
    }
}
