//! The structural comparison of two JSON documents.
//!
//! [`compare`] walks both documents together and emits the RFC 6902 operations
//! that turn the left document into the right one:
//!
//! - objects are compared key by key, in sorted key order, so the patch is
//!   deterministic whatever order the keys had in the text;
//! - arrays are compared as sequences with a Myers diff (the `similar` crate)
//!   over the identities of their elements; an element that was replaced by a
//!   container of the same kind (object by object, array by array) is compared
//!   recursively, anything else is replaced whole. Array indices in the patch are
//!   correct for applying the operations one after the other, as RFC 6902 says;
//! - with [`Options::ignore_array_order`], arrays are compared as multisets: the
//!   patch removes the left elements that have no equal counterpart on the right
//!   (from the highest index down) and then appends the right elements that have
//!   none on the left, so applying it gives a document equal to the right one
//!   modulo the order of array elements.
//!
//! Progress is counted in nodes (every value, container or scalar, of both
//! documents): each node is accounted for exactly once, so the count reaches the
//! total at the end, and the callback is called about once per percent.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};
use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::patch::{Comparison, PatchOp};
use crate::pointer;

/// How to compare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Compare arrays as multisets: element order does not matter.
    pub ignore_array_order: bool,
}

/// How far a comparison has come, in nodes of both documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Nodes accounted for so far.
    pub done: u64,
    /// Nodes in both documents together.
    pub total: u64,
}

impl Progress {
    /// The share done, from 0 to 100.
    #[must_use]
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            // Node counts stay far below 2^53, so the conversion is exact.
            #[allow(clippy::cast_precision_loss)]
            let share = self.done as f64 / self.total as f64;
            (share * 100.0).clamp(0.0, 100.0)
        }
    }
}

/// The progress callback asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the comparison was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Compares `left` with `right`, calling `progress` about once per percent.
#[must_use]
pub fn compare(
    left: &Value,
    right: &Value,
    options: &Options,
    progress: &mut dyn FnMut(Progress),
) -> Comparison {
    let outcome = try_compare(left, right, options, &mut |update| {
        progress(update);
        true
    });
    match outcome {
        Ok(comparison) => comparison,
        Err(Cancelled) => unreachable!("the progress callback never asks to stop"),
    }
}

/// Like [`compare`], but stops with [`Cancelled`] as soon as `progress` returns
/// `false`.
///
/// # Errors
///
/// [`Cancelled`] when the callback returned `false`.
pub fn try_compare(
    left: &Value,
    right: &Value,
    options: &Options,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Comparison, Cancelled> {
    let total = count_nodes(left) + count_nodes(right);
    let mut differ = Differ {
        unordered: options.ignore_array_order,
        patch: Vec::new(),
        meter: Meter::new(total, progress),
    };
    differ.meter.report()?;
    let mut path = String::new();
    differ.diff(&mut path, left, right)?;
    differ.meter.finish()?;
    Ok(Comparison::from_patch(differ.patch))
}

/// Whether `a` equals `b`, ignoring the order of array elements at every depth.
#[must_use]
pub fn equal_ignoring_array_order(a: &Value, b: &Value) -> bool {
    equal(a, b, true)
}

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
struct Meter<'p> {
    done: u64,
    reported: Option<u64>,
    total: u64,
    step: u64,
    next: u64,
    callback: &'p mut dyn FnMut(Progress) -> bool,
}

impl<'p> Meter<'p> {
    fn new(total: u64, callback: &'p mut dyn FnMut(Progress) -> bool) -> Self {
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

    fn advance(&mut self, nodes: u64) -> Result<(), Cancelled> {
        self.done += nodes;
        if self.done >= self.next {
            self.next = self.done + self.step;
            self.report()
        } else {
            Ok(())
        }
    }

    fn report(&mut self) -> Result<(), Cancelled> {
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

    fn finish(&mut self) -> Result<(), Cancelled> {
        debug_assert_eq!(self.done, self.total, "every node is accounted for once");
        if self.reported == Some(self.done) {
            Ok(())
        } else {
            self.report()
        }
    }
}

/// The walk over both documents.
struct Differ<'p> {
    unordered: bool,
    patch: Vec<PatchOp>,
    meter: Meter<'p>,
}

impl Differ<'_> {
    /// Emits the operations turning `a` (at `path`) into `b`.
    fn diff(&mut self, path: &mut String, a: &Value, b: &Value) -> Result<(), Cancelled> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => self.diff_objects(path, x, y),
            (Value::Array(x), Value::Array(y)) if self.unordered => self.diff_multisets(path, x, y),
            (Value::Array(x), Value::Array(y)) => self.diff_sequences(path, x, y),
            _ => {
                if a != b {
                    self.patch.push(PatchOp::Replace {
                        path: path.clone(),
                        value: b.clone(),
                    });
                }
                self.meter.advance(count_nodes(a) + count_nodes(b))
            }
        }
    }

    fn diff_objects(
        &mut self,
        path: &mut String,
        x: &Map<String, Value>,
        y: &Map<String, Value>,
    ) -> Result<(), Cancelled> {
        self.meter.advance(2)?;
        let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        let base = path.len();
        for key in keys {
            pointer::push_key(path, key);
            match (x.get(key), y.get(key)) {
                (Some(a), Some(b)) => self.diff(path, a, b)?,
                (Some(a), None) => {
                    self.patch.push(PatchOp::Remove { path: path.clone() });
                    self.meter.advance(count_nodes(a))?;
                }
                (None, Some(b)) => {
                    self.patch.push(PatchOp::Add {
                        path: path.clone(),
                        value: b.clone(),
                    });
                    self.meter.advance(count_nodes(b))?;
                }
                (None, None) => unreachable!("the key came from one of the maps"),
            }
            path.truncate(base);
        }
        Ok(())
    }

    fn diff_sequences(
        &mut self,
        path: &mut String,
        x: &[Value],
        y: &[Value],
    ) -> Result<(), Cancelled> {
        self.meter.advance(2)?;
        let (old, new) = identities(x, y);
        let base = path.len();
        for op in capture_diff_slices(Algorithm::Myers, &old, &new) {
            match op {
                DiffOp::Equal { old_index, len, .. } => {
                    for item in &x[old_index..old_index + len] {
                        self.meter.advance(2 * count_nodes(item))?;
                    }
                }
                DiffOp::Delete {
                    old_index,
                    old_len,
                    new_index,
                } => {
                    pointer::push_index(path, new_index);
                    for item in &x[old_index..old_index + old_len] {
                        self.patch.push(PatchOp::Remove { path: path.clone() });
                        self.meter.advance(count_nodes(item))?;
                    }
                    path.truncate(base);
                }
                DiffOp::Insert {
                    new_index, new_len, ..
                } => {
                    for (index, item) in (new_index..).zip(&y[new_index..new_index + new_len]) {
                        self.push_add(path, index, item)?;
                    }
                }
                DiffOp::Replace {
                    old_index,
                    old_len,
                    new_index,
                    new_len,
                } => {
                    let paired = old_len.min(new_len);
                    for k in 0..paired {
                        pointer::push_index(path, new_index + k);
                        self.diff(path, &x[old_index + k], &y[new_index + k])?;
                        path.truncate(base);
                    }
                    if old_len > paired {
                        pointer::push_index(path, new_index + paired);
                        for item in &x[old_index + paired..old_index + old_len] {
                            self.patch.push(PatchOp::Remove { path: path.clone() });
                            self.meter.advance(count_nodes(item))?;
                        }
                        path.truncate(base);
                    }
                    for k in paired..new_len {
                        self.push_add(path, new_index + k, &y[new_index + k])?;
                    }
                }
            }
        }
        Ok(())
    }

    fn diff_multisets(&mut self, path: &str, x: &[Value], y: &[Value]) -> Result<(), Cancelled> {
        self.meter.advance(2)?;
        let mut pending = Pending::new(y, true);
        let mut matched = vec![false; y.len()];
        let mut surplus = Vec::new();
        for (index, item) in x.iter().enumerate() {
            if let Some(partner) = pending.take_equal(item) {
                matched[partner] = true;
                self.meter.advance(2 * count_nodes(item))?;
            } else {
                surplus.push(index);
            }
        }
        for &index in surplus.iter().rev() {
            self.patch.push(PatchOp::Remove {
                path: pointer::child_index(path, index),
            });
            self.meter.advance(count_nodes(&x[index]))?;
        }
        let missing = y.iter().zip(&matched).filter(|(_, matched)| !**matched);
        for (index, (item, _)) in (x.len() - surplus.len()..).zip(missing) {
            self.push_add(path, index, item)?;
        }
        Ok(())
    }

    fn push_add(&mut self, path: &str, index: usize, item: &Value) -> Result<(), Cancelled> {
        self.patch.push(PatchOp::Add {
            path: pointer::child_index(path, index),
            value: item.clone(),
        });
        self.meter.advance(count_nodes(item))
    }
}

/// Gives every element of `x` and `y` a small identity, equal exactly when the
/// elements are equal, so the sequence diff compares numbers instead of trees.
/// Hash collisions are resolved by comparing the values themselves.
fn identities<'v>(x: &'v [Value], y: &'v [Value]) -> (Vec<u32>, Vec<u32>) {
    let mut classes: HashMap<u64, Vec<(u32, &'v Value)>> = HashMap::new();
    let mut next: u32 = 0;
    let mut id_of = |item: &'v Value| -> u32 {
        let bucket = classes.entry(hash_of(item, false)).or_default();
        if let Some(&(id, _)) = bucket.iter().find(|(_, other)| *other == item) {
            return id;
        }
        let id = next;
        next += 1;
        bucket.push((id, item));
        id
    };
    let old = x.iter().map(&mut id_of).collect();
    let new = y.iter().map(&mut id_of).collect();
    (old, new)
}

/// The elements of one array not yet matched, grouped by hash, for multiset
/// matching.
struct Pending<'v> {
    buckets: HashMap<u64, VecDeque<(usize, &'v Value)>>,
    unordered: bool,
}

impl<'v> Pending<'v> {
    fn new(items: &'v [Value], unordered: bool) -> Self {
        let mut buckets: HashMap<u64, VecDeque<(usize, &'v Value)>> = HashMap::new();
        for (index, item) in items.iter().enumerate() {
            buckets
                .entry(hash_of(item, unordered))
                .or_default()
                .push_back((index, item));
        }
        Self { buckets, unordered }
    }

    /// Removes and returns the index of the first pending element equal to `item`.
    fn take_equal(&mut self, item: &Value) -> Option<usize> {
        let Entry::Occupied(mut entry) = self.buckets.entry(hash_of(item, self.unordered)) else {
            return None;
        };
        let bucket = entry.get_mut();
        let position = bucket
            .iter()
            .position(|(_, other)| equal(item, other, self.unordered))?;
        let (index, _) = bucket.remove(position)?;
        if bucket.is_empty() {
            entry.remove();
        }
        Some(index)
    }
}

/// Equality of JSON values; with `unordered`, arrays compare as multisets.
fn equal(a: &Value, b: &Value, unordered: bool) -> bool {
    if !unordered {
        return a == b;
    }
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return false;
            }
            let mut pending = Pending::new(y, true);
            x.iter().all(|item| pending.take_equal(item).is_some())
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(key, value)| y.get(key).is_some_and(|other| equal(value, other, true)))
        }
        _ => a == b,
    }
}

/// A hash consistent with [`equal`] for the same `unordered`.
fn hash_of(value: &Value, unordered: bool) -> u64 {
    let mut hasher = ValueHasher::default();
    hash_into(value, unordered, &mut hasher);
    hasher.finish()
}

fn hash_into(value: &Value, unordered: bool, hasher: &mut ValueHasher) {
    match value {
        Value::Null => 0u8.hash(hasher),
        Value::Bool(flag) => {
            1u8.hash(hasher);
            flag.hash(hasher);
        }
        Value::Number(number) => {
            2u8.hash(hasher);
            if let Some(unsigned) = number.as_u64() {
                (0u8, unsigned).hash(hasher);
            } else if let Some(signed) = number.as_i64() {
                (1u8, signed).hash(hasher);
            } else {
                let float = number.as_f64().unwrap_or(0.0);
                // 0.0 == -0.0, so they must hash alike.
                let float = if float == 0.0 { 0.0 } else { float };
                (2u8, float.to_bits()).hash(hasher);
            }
        }
        Value::String(text) => {
            3u8.hash(hasher);
            text.hash(hasher);
        }
        Value::Array(items) if unordered => {
            4u8.hash(hasher);
            let mut hashes: Vec<u64> = items.iter().map(|item| hash_of(item, true)).collect();
            hashes.sort_unstable();
            hashes.hash(hasher);
        }
        Value::Array(items) => {
            5u8.hash(hasher);
            items.len().hash(hasher);
            for item in items {
                hash_into(item, false, hasher);
            }
        }
        Value::Object(map) => {
            // Key order must not matter (maps compare as maps), so entries are
            // hashed one by one and combined with a commutative sum.
            6u8.hash(hasher);
            map.len().hash(hasher);
            let combined = map.iter().fold(0u64, |sum, (key, item)| {
                let mut entry = ValueHasher::default();
                key.hash(&mut entry);
                hash_into(item, unordered, &mut entry);
                sum.wrapping_add(entry.finish())
            });
            combined.hash(hasher);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::patch::Summary;

    fn patch(left: Value, right: Value, ignore_array_order: bool) -> Value {
        let options = Options { ignore_array_order };
        serde_json::to_value(compare(&left, &right, &options, &mut |_| ()).patch).unwrap()
    }

    #[test]
    fn equal_documents_give_an_empty_patch() {
        let document = json!({"a": [1, {"b": null}], "c": "d"});
        let comparison = compare(
            &document,
            &document.clone(),
            &Options::default(),
            &mut |_| (),
        );
        assert!(comparison.equal);
        assert!(comparison.patch.is_empty());
        assert_eq!(comparison.summary, Summary::default());
    }

    #[test]
    fn keys_are_escaped_and_visited_in_sorted_order() {
        assert_eq!(
            patch(
                json!({"m~n": 2, "a/b": 1, "z": 0}),
                json!({"a/b": 3, "z": 0, "": 4}),
                false
            ),
            json!([
                {"op": "add", "path": "/", "value": 4},
                {"op": "replace", "path": "/a~1b", "value": 3},
                {"op": "remove", "path": "/m~0n"}
            ])
        );
    }

    #[test]
    fn the_root_is_replaced_when_kinds_differ() {
        assert_eq!(
            patch(json!(1), json!("x"), false),
            json!([{"op": "replace", "path": "", "value": "x"}])
        );
        assert_eq!(
            patch(json!({"a": []}), json!({"a": {}}), false),
            json!([{"op": "replace", "path": "/a", "value": {}}])
        );
    }

    #[test]
    fn array_indices_hold_for_sequential_application() {
        assert_eq!(
            patch(json!([1, 2, 3]), json!([1, 3]), false),
            json!([{"op": "remove", "path": "/1"}])
        );
        assert_eq!(
            patch(json!([1, 2, 3]), json!([0, 1, 2, 3, 4]), false),
            json!([
                {"op": "add", "path": "/0", "value": 0},
                {"op": "add", "path": "/4", "value": 4}
            ])
        );
        assert_eq!(
            patch(
                json!(["a", "b", "c", "d"]),
                json!(["x", "y", "b", "d", "e"]),
                false
            ),
            json!([
                {"op": "replace", "path": "/0", "value": "x"},
                {"op": "add", "path": "/1", "value": "y"},
                {"op": "remove", "path": "/3"},
                {"op": "add", "path": "/4", "value": "e"}
            ])
        );
    }

    #[test]
    fn replaced_containers_are_compared_recursively() {
        assert_eq!(
            patch(
                json!([{"a": 1}, {"b": 2}]),
                json!([{"a": 1}, {"b": 3}]),
                false
            ),
            json!([{"op": "replace", "path": "/1/b", "value": 3}])
        );
    }

    #[test]
    fn ignoring_array_order_removes_surplus_and_appends_missing() {
        assert_eq!(patch(json!([1, 2, 3]), json!([3, 1, 2]), true), json!([]));
        assert_eq!(
            patch(json!([1, 2, 2, 3, 5]), json!([3, 2, 1, 4]), true),
            json!([
                {"op": "remove", "path": "/4"},
                {"op": "remove", "path": "/2"},
                {"op": "add", "path": "/3", "value": 4}
            ])
        );
        // Nested arrays are unordered too.
        assert_eq!(
            patch(
                json!({"a": [[1, 2], [3]]}),
                json!({"a": [[3], [2, 1]]}),
                true
            ),
            json!([])
        );
        assert!(equal_ignoring_array_order(
            &json!([[1, 2], {"x": [3, 4]}]),
            &json!([{"x": [4, 3]}, [2, 1]])
        ));
        assert!(!equal_ignoring_array_order(
            &json!([1, 1, 2]),
            &json!([1, 2, 2])
        ));
    }

    #[test]
    fn numbers_compare_as_serde_json_does() {
        assert_eq!(patch(json!(0.0), json!(-0.0), false), json!([]));
        assert_eq!(patch(json!([0.0]), json!([-0.0]), true), json!([]));
        assert_eq!(
            patch(json!(1), json!(1.0), false),
            json!([{"op": "replace", "path": "", "value": 1.0}])
        );
    }

    #[test]
    fn progress_is_monotonic_bounded_and_complete() {
        let left: Value = (0..50_000)
            .map(|n| json!({"n": n}))
            .collect::<Vec<_>>()
            .into();
        let right: Value = (0..50_000)
            .map(|n| json!({"n": n + 1_000_000}))
            .collect::<Vec<_>>()
            .into();
        let mut reports = Vec::new();
        let comparison = compare(&left, &right, &Options::default(), &mut |progress| {
            reports.push(progress)
        });
        assert_eq!(comparison.summary.replaced, 50_000);
        assert!(reports.len() <= 102, "{} reports", reports.len());
        assert!(reports.len() >= 50, "{} reports", reports.len());
        assert!(reports.windows(2).all(|pair| pair[0].done <= pair[1].done));
        let last = reports.last().unwrap();
        assert_eq!(last.done, last.total);
        assert_eq!(last.total, count_nodes(&left) + count_nodes(&right));
        assert!((last.percent() - 100.0).abs() < f64::EPSILON);
    }

    #[test]
    fn a_refusing_callback_cancels() {
        let left: Value = (0..10_000).collect::<Vec<u32>>().into();
        let right: Value = (1..10_001).collect::<Vec<u32>>().into();
        let mut calls = 0;
        let outcome = try_compare(&left, &right, &Options::default(), &mut |_| {
            calls += 1;
            calls < 3
        });
        assert_eq!(outcome, Err(Cancelled));
        assert_eq!(calls, 3);
    }
}

/// A fast, non-cryptographic hasher for value identities (in the style of
/// rustc's FxHasher). Its quality only affects speed: equal hashes are always
/// confirmed by comparing the values.
#[derive(Default)]
struct ValueHasher(u64);

impl ValueHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for ValueHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    fn finish(&self) -> u64 {
        // A final avalanche so that nearby inputs land in different buckets.
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash
    }
}
