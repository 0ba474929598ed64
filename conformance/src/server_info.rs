//! What the server says about itself in `GET /v1`: its classes and limits.
//!
//! The suite reads the service document once before the checks run. The checks
//! of section 4 judge the document itself; every other check reads the claimed
//! classes and the limits from here.

use serde::Deserialize;
use serde_json::Value;

/// The limits of the service document (SVC-5, CALLBACK-6).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Limits {
    pub default_ttl_seconds: u64,
    pub min_ttl_seconds: u64,
    pub max_ttl_seconds: u64,
    pub max_wait_seconds: u64,
    pub default_timeout_seconds: u64,
    pub max_timeout_seconds: u64,
    pub max_body_bytes: u64,
    pub max_input_bytes: u64,
    pub max_log_bytes: u64,
    pub queue_size: u64,
    pub workers: u64,
    pub max_attempts: u64,
    pub max_page_size: u64,
    #[serde(default)]
    pub callbacks: Option<CallbackLimits>,
}

/// `limits.callbacks` (CALLBACK-6).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct CallbackLimits {
    pub max_attempts: u64,
    pub default_max_attempts: u64,
    pub min_interval_seconds: u64,
    pub max_interval_seconds: u64,
    pub default_interval_seconds: u64,
    pub timeout_seconds: u64,
}

/// The parts of the service document the checks rely on.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The whole document.
    pub document: Value,
    /// `conformanceClasses`.
    pub classes: Vec<String>,
    /// `limits`.
    pub limits: Limits,
    /// `urlGuard.privateNetworksAllowed` (SVC-8), when the document says.
    pub private_networks_allowed: Option<bool>,
}

impl ServerInfo {
    /// Read the parts the checks need, or say what is missing.
    pub fn from_document(document: Value) -> Result<ServerInfo, String> {
        let classes = document
            .get("conformanceClasses")
            .and_then(Value::as_array)
            .ok_or("it has no array `conformanceClasses`")?
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or("`conformanceClasses` holds something other than strings")?;
        let limits = document
            .get("limits")
            .cloned()
            .ok_or_else(|| "it has no `limits`".to_owned())
            .and_then(|l| {
                serde_json::from_value::<Limits>(l).map_err(|e| format!("`limits`: {e}"))
            })?;
        let private_networks_allowed = document
            .get("urlGuard")
            .and_then(|g| g.get("privateNetworksAllowed"))
            .and_then(Value::as_bool);
        Ok(ServerInfo {
            document,
            classes,
            limits,
            private_networks_allowed,
        })
    }

    /// Whether the server claims `class`.
    pub fn claims(&self, class: &str) -> bool {
        self.classes.iter().any(|c| c == class)
    }
}
