//! Progress of a merge, counted in nodes, and the way a caller stops it.
//!
//! Every value of the ancestor and of every version (containers and scalars
//! alike) is one node. The merge accounts for each node exactly once, so the
//! count reaches the total at the end; the callback is called about once per
//! percent, and returning `false` from it stops the merge with [`Cancelled`].

use std::fmt;

use serde_json::Value;

/// How far a merge has come, in nodes of all the documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Nodes accounted for so far.
    pub done: u64,
    /// Nodes in the ancestor and all the versions together.
    pub total: u64,
}

/// The progress callback asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the merge was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// The number of values in `value`, itself included.
#[must_use]
pub fn count_nodes(value: &Value) -> u64 {
    match value {
        Value::Array(items) => 1 + items.iter().map(count_nodes).sum::<u64>(),
        Value::Object(map) => 1 + map.values().map(count_nodes).sum::<u64>(),
        _ => 1,
    }
}

/// Counts nodes and calls the progress callback when another percent is done.
pub(crate) struct Meter<'p> {
    done: u64,
    reported: Option<u64>,
    total: u64,
    step: u64,
    next: u64,
    callback: &'p mut dyn FnMut(Progress) -> bool,
}

impl<'p> Meter<'p> {
    /// A meter over `total` nodes that reports to `callback`.
    pub(crate) fn new(total: u64, callback: &'p mut dyn FnMut(Progress) -> bool) -> Self {
        let step = (total / 100).max(1);
        Self {
            done: 0,
            reported: None,
            total,
            step,
            next: step,
            callback,
        }
    }

    /// Accounts for `nodes` more nodes, reporting when another step is done.
    pub(crate) fn advance(&mut self, nodes: u64) -> Result<(), Cancelled> {
        self.done += nodes;
        if self.done >= self.next {
            self.next = self.done + self.step;
            self.report()
        } else {
            Ok(())
        }
    }

    /// Reports the current count.
    pub(crate) fn report(&mut self) -> Result<(), Cancelled> {
        self.reported = Some(self.done);
        let update = Progress {
            done: self.done.min(self.total),
            total: self.total,
        };
        if (self.callback)(update) {
            Ok(())
        } else {
            Err(Cancelled)
        }
    }

    /// Reports the final count unless it was the last one reported.
    pub(crate) fn finish(&mut self) -> Result<(), Cancelled> {
        debug_assert_eq!(self.done, self.total, "every node is accounted for once");
        if self.reported == Some(self.done) {
            Ok(())
        } else {
            self.report()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_count_containers_and_scalars() {
        assert_eq!(count_nodes(&serde_json::json!(1)), 1);
        assert_eq!(
            count_nodes(&serde_json::json!({"a": [1, {"b": null}], "c": {}})),
            6
        );
    }

    #[test]
    fn the_meter_reports_about_once_per_percent_and_reaches_the_total() {
        let mut seen = Vec::new();
        let mut callback = |update: Progress| {
            seen.push(update);
            true
        };
        let mut meter = Meter::new(1000, &mut callback);
        meter.report().unwrap();
        for _ in 0..1000 {
            meter.advance(1).unwrap();
        }
        meter.finish().unwrap();
        assert_eq!(seen.len(), 101);
        assert_eq!(
            seen.last(),
            Some(&Progress {
                done: 1000,
                total: 1000
            })
        );
        assert!(seen.windows(2).all(|pair| pair[0].done < pair[1].done));
    }

    #[test]
    fn a_false_from_the_callback_cancels() {
        let mut callback = |update: Progress| update.done < 50;
        let mut meter = Meter::new(100, &mut callback);
        let stopped = (0..100)
            .map(|_| meter.advance(1))
            .position(|step| step.is_err());
        assert_eq!(stopped, Some(49));
    }
}
