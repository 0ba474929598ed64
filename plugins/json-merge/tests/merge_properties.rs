//! Property tests of the merge rules over arbitrary nested JSON documents.

use std::collections::BTreeMap;

use longrun_json_merge::{Merge, Resolution, merge, numbered};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value};

/// Scalars from small pools, so independent changes still collide now and then.
fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-3i64..4).prop_map(Value::from),
        select(vec![0.5, -1.25, 1e10]).prop_map(Value::from),
        "[ab~/]{0,2}".prop_map(Value::String),
    ]
}

/// Keys that need JSON Pointer escaping now and then.
fn key() -> impl Strategy<Value = String> {
    "[ab~/0]{0,2}"
}

/// Nested JSON documents, objects more often than arrays.
fn document() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            1 => prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            3 => prop::collection::btree_map(key(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// An object document: the usual shape of what gets merged.
fn object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(key(), document(), 0..6).prop_map(|map| map.into_iter().collect())
}

/// One change to a document: which node (an index into its nodes in preorder),
/// what to do there, a number to pick a member, and a fresh value to put in.
#[derive(Debug, Clone)]
struct Mutation {
    node: usize,
    kind: u8,
    pick: usize,
    fresh: Value,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    (any::<usize>(), 0u8..4, any::<usize>(), document()).prop_map(|(node, kind, pick, fresh)| {
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

/// Deletes, adds or replaces a member somewhere, or replaces a node.
fn mutate(document: &mut Value, mutation: Mutation) {
    let total = count(document);
    let node = nth_node(document, mutation.node % total);
    let Mutation {
        kind, pick, fresh, ..
    } = mutation;
    match (kind, node) {
        (1, Value::Object(map)) if !map.is_empty() => {
            let key = map
                .keys()
                .nth(pick % map.len())
                .cloned()
                .unwrap_or_default();
            map.remove(&key);
        }
        (2, Value::Object(map)) => {
            map.insert(["a", "b/", "~c", ""][pick % 4].to_owned(), fresh);
        }
        (3, Value::Array(items)) if !items.is_empty() => {
            items.remove(pick % items.len());
        }
        (_, node) => *node = fresh,
    }
}

/// A document a few mutations away from `ancestor`.
fn derived(ancestor: Value) -> impl Strategy<Value = Value> {
    prop::collection::vec(mutation(), 0..4).prop_map(move |mutations| {
        let mut version = ancestor.clone();
        for mutation in mutations {
            mutate(&mut version, mutation);
        }
        version
    })
}

/// An ancestor (an object, or now and then any document) and `n` versions
/// derived from it independently.
fn family(n: usize) -> impl Strategy<Value = (Value, Vec<Value>)> {
    prop_oneof![
        4 => object().prop_map(Value::Object),
        1 => document(),
    ]
    .prop_flat_map(move |ancestor| {
        let versions = prop::collection::vec(derived(ancestor.clone()), n);
        (Just(ancestor), versions)
    })
}

fn run(ancestor: &Value, versions: &[Value], resolution: Resolution) -> Merge {
    let mut reports = 0;
    let merge = merge(ancestor, &numbered(versions), resolution, &mut |_| {
        reports += 1;
    });
    assert!(reports <= 102, "{reports} progress reports");
    merge
}

/// Changes to disjoint top-level members: for each changed member, which
/// version changes it (modulo their number) and to what (`None`: deletes it).
type Changes = BTreeMap<String, (usize, Option<Value>)>;

/// An ancestor object, a number of versions, and their disjoint changes.
fn disjoint_changes() -> impl Strategy<Value = (Map<String, Value>, usize, Changes)> {
    (
        object(),
        2usize..5,
        prop::collection::btree_map(key(), (any::<usize>(), prop::option::of(document())), 0..6),
    )
}

proptest! {
    #[test]
    fn a_single_changed_version_wins_whatever_its_position((ancestor, versions) in family(1)) {
        let version = &versions[0];
        for documents in [[version.clone(), ancestor.clone()], [ancestor.clone(), version.clone()]] {
            let merge = run(&ancestor, &documents, Resolution::Ancestor);
            prop_assert_eq!(&merge.merged, version);
            prop_assert!(merge.is_clean(), "{:?}", merge.conflicts);
        }
    }

    #[test]
    fn identical_versions_merge_to_themselves((ancestor, versions) in family(1)) {
        let version = &versions[0];
        let merge = run(&ancestor, &[version.clone(), version.clone()], Resolution::Ancestor);
        prop_assert_eq!(&merge.merged, version);
        prop_assert!(merge.is_clean());
        let merge = run(&ancestor, &[ancestor.clone(), ancestor.clone()], Resolution::First);
        prop_assert_eq!(&merge.merged, &ancestor);
        prop_assert!(merge.is_clean());
    }

    #[test]
    fn changes_to_disjoint_members_merge_cleanly((ancestor, n, changes) in disjoint_changes()) {
        let mut versions = vec![ancestor.clone(); n];
        let mut expected = ancestor.clone();
        for (key, (owner, change)) in changes {
            let version = &mut versions[owner % n];
            if let Some(value) = change {
                version.insert(key.clone(), value.clone());
                expected.insert(key, value);
            } else {
                version.remove(&key);
                expected.remove(&key);
            }
        }
        let versions: Vec<Value> = versions.into_iter().map(Value::Object).collect();
        let merge = run(&Value::Object(ancestor), &versions, Resolution::Ancestor);
        prop_assert!(merge.is_clean(), "{:?}", merge.conflicts);
        prop_assert_eq!(merge.merged, Value::Object(expected));
    }

    #[test]
    fn conflicts_resolve_to_the_ancestor_and_show_every_side((ancestor, versions) in family(3)) {
        let merge = run(&ancestor, &versions, Resolution::Ancestor);
        for conflict in &merge.conflicts {
            prop_assert_eq!(merge.merged.pointer(&conflict.pointer), ancestor.pointer(&conflict.pointer));
            prop_assert_eq!(conflict.ancestor.value(), ancestor.pointer(&conflict.pointer));
            prop_assert_eq!(conflict.versions.len(), versions.len());
            for (side, version) in conflict.versions.iter().zip(&versions) {
                let there = version.pointer(&conflict.pointer);
                prop_assert_eq!(side.side.value(), there);
                prop_assert_eq!(side.changed, there != ancestor.pointer(&conflict.pointer));
            }
            let changes: Vec<_> = conflict.versions.iter().filter(|side| side.changed).collect();
            prop_assert!(changes.len() >= 2);
            prop_assert!(changes.iter().any(|side| side.side != changes[0].side));
        }
        let pointers: Vec<&str> = merge.conflicts.iter().map(|c| c.pointer.as_str()).collect();
        let mut unique = pointers.clone();
        unique.sort_unstable();
        unique.dedup();
        prop_assert_eq!(unique.len(), pointers.len());
    }

    #[test]
    fn the_first_resolution_takes_the_first_change((ancestor, versions) in family(3)) {
        let kept = run(&ancestor, &versions, Resolution::Ancestor);
        let taken = run(&ancestor, &versions, Resolution::First);
        prop_assert_eq!(&kept.conflicts, &taken.conflicts);
        for conflict in &taken.conflicts {
            let first = conflict.versions.iter().find(|side| side.changed).map(|side| side.side.value());
            prop_assert_eq!(Some(taken.merged.pointer(&conflict.pointer)), first);
        }
        if kept.is_clean() {
            prop_assert_eq!(kept.merged, taken.merged);
        }
    }

    #[test]
    fn swapping_the_versions_of_a_clean_merge_changes_nothing((ancestor, versions) in family(2)) {
        let merge = run(&ancestor, &versions, Resolution::Ancestor);
        let swapped = run(&ancestor, &[versions[1].clone(), versions[0].clone()], Resolution::Ancestor);
        prop_assert_eq!(merge.is_clean(), swapped.is_clean());
        if merge.is_clean() {
            prop_assert_eq!(merge.merged, swapped.merged);
        }
    }
}
