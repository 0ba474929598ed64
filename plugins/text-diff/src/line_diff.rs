//! The `diff` stage: Myers over the two line-hash sequences, with progress and
//! cancellation while it runs.
//!
//! This is what `similar::capture_diff_slices(Algorithm::Myers, …)` does (its
//! Myers trims the common prefix and suffix itself, then runs a bounded
//! middle-snake search; the ops are then compacted and adjacent deletes and
//! inserts merged into replaces), with one more hook in front: the search emits
//! its edits roughly from the start of the texts to their end, so each edit
//! tells how far along `left` it has come. The hook reports that to the sink,
//! and stops the search when the sink answers with an error (a canceled job).

use std::convert::Infallible;

use similar::algorithms::{Capture, Compact, DiffHook, Replace, diff_deadline};
use similar::{Algorithm, DiffOp};

use crate::stages::Sink;

/// The edit script that turns the lines `left` into `right`, as ops over their
/// indices (equal runs included), reporting progress in lines of `left`.
///
/// # Errors
///
/// The sink's error, as soon as a report returns one.
pub fn diff_lines<K: Sink>(
    left: &[u128],
    right: &[u128],
    sink: &mut K,
) -> Result<Vec<DiffOp>, K::Error> {
    let mut hook = Reporting {
        inner: Compact::new(Replace::new(Capture::new()), left, right),
        sink,
        total: left.len() as u64,
    };
    diff_deadline(
        Algorithm::Myers,
        &mut hook,
        left,
        0..left.len(),
        right,
        0..right.len(),
        None,
    )?;
    let ops = hook.inner.into_inner().into_inner().into_ops();
    Ok(ops)
}

/// Passes the search's edits on to `inner`, reporting how far along `left`
/// each one reaches.
struct Reporting<'s, D, K> {
    inner: D,
    sink: &'s mut K,
    total: u64,
}

impl<D: DiffHook<Error = Infallible>, K: Sink> Reporting<'_, D, K> {
    fn reached(&mut self, old_end: usize) -> Result<(), K::Error> {
        self.sink.advance(old_end as u64, self.total)
    }
}

fn never<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

impl<D: DiffHook<Error = Infallible>, K: Sink> DiffHook for Reporting<'_, D, K> {
    type Error = K::Error;

    fn equal(&mut self, old_index: usize, new_index: usize, len: usize) -> Result<(), K::Error> {
        never(self.inner.equal(old_index, new_index, len));
        self.reached(old_index + len)
    }

    fn delete(
        &mut self,
        old_index: usize,
        old_len: usize,
        new_index: usize,
    ) -> Result<(), K::Error> {
        never(self.inner.delete(old_index, old_len, new_index));
        self.reached(old_index + old_len)
    }

    fn insert(
        &mut self,
        old_index: usize,
        new_index: usize,
        new_len: usize,
    ) -> Result<(), K::Error> {
        never(self.inner.insert(old_index, new_index, new_len));
        self.reached(old_index)
    }

    fn replace(
        &mut self,
        old_index: usize,
        old_len: usize,
        new_index: usize,
        new_len: usize,
    ) -> Result<(), K::Error> {
        never(self.inner.replace(old_index, old_len, new_index, new_len));
        self.reached(old_index + old_len)
    }

    fn finish(&mut self) -> Result<(), K::Error> {
        never(self.inner.finish());
        self.sink.advance(self.total, self.total)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use similar::{Algorithm, capture_diff_slices};

    use super::*;
    use crate::stages::Stage;

    /// Counts reports and says stop after `stop_after` of them.
    struct Counting {
        reports: Vec<(u64, u64)>,
        stop_after: usize,
        output: Vec<u8>,
    }

    impl Sink for Counting {
        type Error = &'static str;

        fn stage(&mut self, _: Stage) -> Result<(), &'static str> {
            Ok(())
        }

        fn advance(&mut self, done: u64, total: u64) -> Result<(), &'static str> {
            self.reports.push((done, total));
            if self.reports.len() >= self.stop_after {
                Err("stop")
            } else {
                Ok(())
            }
        }

        fn output(&mut self) -> &mut dyn Write {
            &mut self.output
        }
    }

    fn sequences() -> (Vec<u128>, Vec<u128>) {
        let left: Vec<u128> = (0..5000).map(|n| n % 37).collect();
        let right: Vec<u128> = (0..5000).map(|n| (n * 7 + 3) % 41).collect();
        (left, right)
    }

    #[test]
    fn gives_what_capture_diff_slices_gives() {
        let (left, right) = sequences();
        let mut sink = Counting {
            reports: Vec::new(),
            stop_after: usize::MAX,
            output: Vec::new(),
        };
        let ops = diff_lines(&left, &right, &mut sink).unwrap();
        assert_eq!(ops, capture_diff_slices(Algorithm::Myers, &left, &right));
        assert!(sink.reports.len() > 10, "{} reports", sink.reports.len());
        assert_eq!(sink.reports.last(), Some(&(5000, 5000)));
        let trimmed = diff_lines(&[1, 2, 3], &[1, 2, 3], &mut sink).unwrap();
        assert_eq!(
            trimmed,
            capture_diff_slices(Algorithm::Myers, &[1u128, 2, 3], &[1, 2, 3])
        );
    }

    #[test]
    fn stops_when_the_sink_says_so() {
        let (left, right) = sequences();
        let mut sink = Counting {
            reports: Vec::new(),
            stop_after: 3,
            output: Vec::new(),
        };
        assert_eq!(diff_lines(&left, &right, &mut sink), Err("stop"));
        assert_eq!(sink.reports.len(), 3);
    }
}
