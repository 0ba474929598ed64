//! Violations caught by the checks of `checks/idempotency.rs`.

#[allow(unused_imports)]
use std::sync::Arc;

use super::Case;
#[allow(unused_imports)]
use crate::support::proxy::{OnRequest, OnResponse, ProxyRequest, ProxyResponse};

pub fn cases() -> Vec<Case> {
    vec![]
}
