//! Every check of the suite, one module per section of the protocol.
//!
//! Check IDs are `<module>.<what>`. Each module exports `CHECKS`; [`all`] lists
//! them in the order reports show them. Requirements that cannot be observed
//! over HTTP are listed by [`unchecked`] with the reason.

use crate::check::Check;

pub mod callbacks;
pub mod cancel;
pub mod create;
pub mod delete;
pub mod document;
pub mod errors;
pub mod events;
pub mod expiry;
pub mod idempotency;
pub mod inputs;
pub mod list;
pub mod log;
pub mod multipart;
pub mod operations;
pub mod poll;
pub mod probe;
pub mod result;
pub mod service;
pub mod states;
pub mod sync;
pub mod url_guard;

/// Every check, in report order.
pub fn all() -> Vec<&'static Check> {
    [
        service::CHECKS,
        probe::CHECKS,
        operations::CHECKS,
        errors::CHECKS,
        url_guard::CHECKS,
        create::CHECKS,
        inputs::CHECKS,
        multipart::CHECKS,
        idempotency::CHECKS,
        sync::CHECKS,
        document::CHECKS,
        states::CHECKS,
        poll::CHECKS,
        list::CHECKS,
        events::CHECKS,
        cancel::CHECKS,
        delete::CHECKS,
        result::CHECKS,
        log::CHECKS,
        expiry::CHECKS,
        callbacks::CHECKS,
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Requirements no check covers, with the reason they cannot be observed over
/// HTTP by a client.
pub fn unchecked() -> Vec<(&'static str, &'static str)> {
    [
        probe::UNCHECKED,
        operations::UNCHECKED,
        errors::UNCHECKED,
        url_guard::UNCHECKED,
        create::UNCHECKED,
        inputs::UNCHECKED,
        multipart::UNCHECKED,
        idempotency::UNCHECKED,
        sync::UNCHECKED,
        document::UNCHECKED,
        states::UNCHECKED,
        poll::UNCHECKED,
        list::UNCHECKED,
        events::UNCHECKED,
        cancel::UNCHECKED,
        delete::UNCHECKED,
        result::UNCHECKED,
        log::UNCHECKED,
        expiry::UNCHECKED,
        callbacks::UNCHECKED,
    ]
    .into_iter()
    .flatten()
    .copied()
    .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::spec::spec;

    #[test]
    fn checks_are_well_formed() {
        let all = all();
        let ids: BTreeSet<&str> = all.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), all.len(), "check IDs are unique");
        for check in &all {
            assert!(
                spec().classes.iter().any(|c| c == check.class),
                "{} has the unknown class {}",
                check.id,
                check.class
            );
            assert!(!check.requirements.is_empty(), "{} cites nothing", check.id);
            for req in check.requirements {
                assert!(
                    spec().get(req).is_some(),
                    "{} cites the unknown {req}",
                    check.id
                );
            }
            for need in check.needs {
                let need = all.iter().find(|c| c.id == *need);
                assert!(need.is_some(), "{} needs an unknown check", check.id);
                assert!(
                    !need.unwrap().exclusive || check.exclusive,
                    "{} runs concurrently but needs the exclusive {}",
                    check.id,
                    need.unwrap().id
                );
            }
        }
        for (req, why) in unchecked() {
            assert!(
                spec().get(req).is_some(),
                "unchecked names the unknown {req}"
            );
            assert!(!why.is_empty(), "{req} is unchecked without a reason");
        }
    }
}
