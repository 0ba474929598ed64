//! The catalogue of violations: for every check, at least one way of breaking
//! the protocol that the check must catch.
//!
//! Each area of the suite has its own file with its cases; [`all`] joins them.

use std::sync::Arc;

use longrun::config::Config;
use serde_json::Value;

use crate::support::proxy::{OnResponse, ProxyRequest, ProxyResponse, Violation};

mod callbacks;
mod cancel;
mod create;
mod delete;
mod document;
mod errors;
mod events;
mod expiry;
mod idempotency;
mod inputs;
mod list;
mod log;
mod multipart;
mod operations;
mod poll;
mod probe;
mod result;
mod service;
mod states;
mod sync;
mod url_guard;

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
    [
        service::cases(),
        probe::cases(),
        operations::cases(),
        errors::cases(),
        url_guard::cases(),
        create::cases(),
        inputs::cases(),
        multipart::cases(),
        idempotency::cases(),
        sync::cases(),
        document::cases(),
        states::cases(),
        poll::cases(),
        list::cases(),
        events::cases(),
        cancel::cases(),
        delete::cases(),
        result::cases(),
        log::cases(),
        expiry::cases(),
        callbacks::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A violation that edits the JSON body of the answers to the requests that
/// check `check` sends to `route` (`(method, path)`, a `*` matching one path
/// segment), only those with `status` when given.
pub fn edit_answers(
    check: &'static str,
    route: (&'static str, &'static str),
    status: Option<u16>,
    edit: impl Fn(&mut Value) + Send + Sync + 'static,
) -> Arc<dyn Violation> {
    let (method, path) = route;
    Arc::new(OnResponse(
        move |req: &ProxyRequest, resp: &mut ProxyResponse| {
            if req.check() == check
                && req.is(method, path)
                && status.is_none_or(|status| resp.status == status)
            {
                resp.edit_json(&edit);
            }
        },
    ))
}
