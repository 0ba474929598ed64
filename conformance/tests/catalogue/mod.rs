//! The catalogue of violations: for every check, at least one way of breaking
//! the protocol that the check must catch.
//!
//! Each area of the suite has its own file with its cases; [`all`] joins them.

use std::sync::Arc;

use longrun::config::Config;

use crate::support::proxy::Violation;

mod service;

/// One violation and the checks that must catch it.
pub struct Case {
    /// A short name for messages.
    pub name: &'static str,
    /// IDs of the checks that must fail (or warn) against it.
    pub fails: &'static [&'static str],
    /// Builds the violation (fresh state for every run).
    pub violation: fn() -> Arc<dyn Violation>,
    /// A change to the runner's configuration the case needs, if any.
    pub runner: Option<fn(&mut Config)>,
}

/// Every case.
pub fn all() -> Vec<Case> {
    [service::cases()].into_iter().flatten().collect()
}
