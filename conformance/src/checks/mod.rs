//! Every check of the suite, one module per section of the protocol.
//!
//! Check IDs are `<module>.<what>`. Each module exports `CHECKS`; [`all`] lists
//! them in the order reports show them. Requirements that cannot be observed
//! over HTTP are listed in [`UNCHECKED`] with the reason.

use crate::check::Check;

pub mod service;

/// Every check, in report order.
pub fn all() -> Vec<&'static Check> {
    [service::CHECKS].into_iter().flatten().collect()
}

/// Requirements no check covers, with the reason they cannot be observed over
/// HTTP by a client.
pub const UNCHECKED: &[(&str, &str)] = &[];
