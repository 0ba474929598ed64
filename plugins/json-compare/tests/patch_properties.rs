//! Property tests: the patch from `compare`, applied by an independent RFC 6902
//! implementation (the `json-patch` crate), turns the left document into the right
//! one (modulo array order with `ignoreArrayOrder`).

use std::cmp::Ordering;

use longrun_json_compare::{Comparison, Options, PatchOp, Summary, compare};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

/// Scalars from small pools, so independent documents still share values.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        select(vec![0.5, -1.25, 0.0, -0.0, 1e10]).prop_map(Value::from),
        "[ab~/]{0,2}".prop_map(Value::String),
    ]
}

/// Keys that need JSON Pointer escaping now and then.
fn key() -> impl Strategy<Value = String> {
    "[ab~/0]{0,2}"
}

/// Nested JSON documents: objects, arrays and scalars.
fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// One change to a document: which node (an index into its nodes in preorder),
/// what to do there, a number to pick positions, and a fresh value to put in.
#[derive(Debug, Clone)]
struct Mutation {
    node: usize,
    kind: u8,
    pick: usize,
    fresh: Value,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (any::<usize>(), 0u8..6, any::<usize>(), document()).prop_map(|(node, kind, pick, fresh)| {
        Mutation {
            node,
            kind,
            pick,
            fresh,
        }
    })
}

fn count(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(count).sum::<usize>(),
        Value::Object(map) => 1 + map.values().map(count).sum::<usize>(),
        _ => 1,
    }
}

/// The `index`th node of `value` in preorder.
fn nth_node(value: &mut Value, mut index: usize) -> &mut Value {
    if index == 0 {
        return value;
    }
    index -= 1;
    let children: Vec<&mut Value> = match value {
        Value::Array(items) => items.iter_mut().collect(),
        Value::Object(map) => map.values_mut().collect(),
        _ => unreachable!("index within the node count"),
    };
    for child in children {
        let size = count(child);
        if index < size {
            return nth_node(child, index);
        }
        index -= size;
    }
    unreachable!("index within the node count")
}

fn mutate(document: &mut Value, mutation: Mutation) {
    let total = count(document);
    let node = nth_node(document, mutation.node % total);
    let Mutation {
        kind, pick, fresh, ..
    } = mutation;
    match (kind, node) {
        (1, Value::Array(items)) if !items.is_empty() => {
            items.remove(pick % items.len());
        }
        (1, Value::Object(map)) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(pick % map.len())
                .cloned()
                .unwrap_or_default();
            map.remove(&key);
        }
        (2, Value::Array(items)) => items.insert(pick % (items.len() + 1), fresh),
        (2, Value::Object(map)) => {
            map.insert(["a", "b/", "~c", ""][pick % 4].to_owned(), fresh);
        }
        (3, Value::Array(items)) if items.len() > 1 => {
            let mid = pick % items.len();
            items.rotate_left(mid.max(1));
        }
        (4, Value::Array(items)) if !items.is_empty() => {
            let copy = items[pick % items.len()].clone();
            items.insert(pick / 7 % (items.len() + 1), copy);
        }
        (5, Value::Array(items)) if items.len() > 1 => items.reverse(),
        (_, node) => *node = fresh,
    }
}

/// A pair of documents: the second a few mutations away from the first, or
/// unrelated to it.
fn pair() -> impl Strategy<Value = (Value, Value)> {
    prop_oneof![
        3 => (document(), prop::collection::vec(mutation(), 0..5)).prop_map(|(left, mutations)| {
            let mut right = left.clone();
            for mutation in mutations {
                mutate(&mut right, mutation);
            }
            (left, right)
        }),
        1 => (document(), document()),
    ]
}

/// Applies `comparison.patch` to `left` with the `json-patch` crate.
fn apply(left: &Value, comparison: &Comparison) -> Value {
    let text = serde_json::to_value(&comparison.patch).expect("the patch serializes");
    let patch: json_patch::Patch = serde_json::from_value(text).expect("the patch is RFC 6902");
    let mut document = left.clone();
    json_patch::patch(&mut document, &patch).expect("the patch applies");
    document
}

/// An order-insensitive normal form, independent of the crate's own equality:
/// arrays sorted by the text of their normalized elements, at every depth.
fn normalized(value: &Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalized).collect();
            items.sort_by(|a, b| {
                let (a, b) = (a.to_string(), b.to_string());
                a.cmp(&b).then(Ordering::Equal)
            });
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, item)| (key.clone(), normalized(item)))
                .collect(),
        ),
        // -0.0 and 0.0 are equal but print differently.
        Value::Number(number)
            if number.as_f64() == Some(0.0) && !number.is_i64() && !number.is_u64() =>
        {
            Value::from(0.0)
        }
        other => other.clone(),
    }
}

fn check_summary(comparison: &Comparison) {
    let count = |wanted: fn(&PatchOp) -> bool| {
        comparison.patch.iter().filter(|op| wanted(op)).count() as u64
    };
    assert_eq!(
        comparison.summary,
        Summary {
            added: count(|op| matches!(op, PatchOp::Add { .. })),
            removed: count(|op| matches!(op, PatchOp::Remove { .. })),
            replaced: count(|op| matches!(op, PatchOp::Replace { .. })),
        }
    );
    assert_eq!(comparison.equal, comparison.patch.is_empty());
}

proptest! {
    #[test]
    fn patch_turns_left_into_right((left, right) in pair()) {
        let mut reports = 0;
        let comparison = compare(&left, &right, &Options::default(), &mut |_| reports += 1);
        prop_assert_eq!(apply(&left, &comparison), right.clone());
        prop_assert_eq!(comparison.equal, left == right);
        prop_assert!(reports <= 102, "{} progress reports", reports);
        check_summary(&comparison);
    }

    #[test]
    fn unordered_patch_turns_left_into_right_modulo_array_order((left, right) in pair()) {
        let options = Options { ignore_array_order: true };
        let comparison = compare(&left, &right, &options, &mut |_| ());
        let patched = apply(&left, &comparison);
        prop_assert_eq!(normalized(&patched), normalized(&right));
        prop_assert_eq!(comparison.equal, normalized(&left) == normalized(&right));
        check_summary(&comparison);
    }

    #[test]
    fn comparing_a_document_with_itself_finds_no_difference(document in document()) {
        for ignore_array_order in [false, true] {
            let comparison = compare(&document, &document, &Options { ignore_array_order }, &mut |_| ());
            prop_assert!(comparison.equal);
            prop_assert!(comparison.patch.is_empty());
        }
    }
}
