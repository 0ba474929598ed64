//! Checks of the `sync` area (being written).

use crate::check::Check;

/// The checks of this area.
pub const CHECKS: &[Check] = &[];

/// Requirements of this area that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];
