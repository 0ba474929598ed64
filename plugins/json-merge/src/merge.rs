//! The three-way merge of JSON documents.
//!
//! [`try_merge`] walks the ancestor and every version together, from the root.
//! At each location it compares what each version has there (a value, or
//! nothing: the member is absent) with what the ancestor has:
//!
//! 1. no version changed it: the ancestor's stays (its value, or its absence);
//! 2. the versions that changed it all agree (the same value, or all deleted
//!    it): their change is taken;
//! 3. the ancestor and every version have objects there: the objects are merged
//!    member by member, each member by these same rules;
//! 4. otherwise it is a [`Conflict`]: it is recorded with every side, and the
//!    [`Resolution`] says what the merged document gets there.
//!
//! Rule 3 is tried first when it applies. It gives the same result as rules 1
//! and 2 would: a member no version changed keeps the ancestor's value, and
//! members the changed versions agree on take that value, so the merged object
//! equals theirs. Trying it first means objects are compared only once, member
//! by member, instead of whole at every depth.
//!
//! Arrays and scalars are atomic: an array changed differently by two versions
//! is one conflict at the array's pointer, whatever its elements; arrays are
//! never merged element by element. Values compare as `serde_json` values, so
//! `1` and `1.0` differ.
//!
//! Merged objects list the ancestor's members first, in its order, then new
//! members in the order of the versions that added them. `serde_json` in this
//! workspace keeps object members sorted by key (its `preserve_order` feature
//! is off, and turning it on would change other crates), so in practice the
//! members of every merged object come out sorted by key.

use std::collections::HashSet;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::conflict::{Conflict, Side, VersionSide};
use crate::pointer;
use crate::progress::{Cancelled, Meter, Progress, count_nodes};

/// What the merged document gets at a conflict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Resolution {
    /// The ancestor's value, or its absence.
    #[default]
    Ancestor,
    /// The value (or absence) of the first version, in merge order, that
    /// changed it.
    First,
}

/// One version to merge.
#[derive(Debug, Clone, Copy)]
pub struct Version<'d> {
    /// Its number, as in its input name `version-N`, shown in conflicts.
    pub number: u32,
    /// Its document.
    pub document: &'d Value,
}

/// Numbers `documents` from 1, in order.
#[must_use]
pub fn numbered(documents: &[Value]) -> Vec<Version<'_>> {
    (1..)
        .zip(documents)
        .map(|(number, document)| Version { number, document })
        .collect()
}

/// The outcome of a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// The merged document, conflicts resolved by the [`Resolution`].
    pub merged: Value,
    /// Every conflict, in document order.
    pub conflicts: Vec<Conflict>,
}

impl Merge {
    /// Whether the merge had no conflict.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.conflicts.is_empty()
    }
}

impl Serialize for Merge {
    /// `{"merged": <document>, "clean": bool, "conflicts": [...]}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("merged", &self.merged)?;
        map.serialize_entry("clean", &self.is_clean())?;
        map.serialize_entry("conflicts", &self.conflicts)?;
        map.end()
    }
}

/// Merges `versions` of `ancestor`, calling `progress` about once per percent.
#[must_use]
pub fn merge(
    ancestor: &Value,
    versions: &[Version<'_>],
    resolution: Resolution,
    progress: &mut dyn FnMut(Progress),
) -> Merge {
    let outcome = try_merge(ancestor, versions, resolution, &mut |update| {
        progress(update);
        true
    });
    match outcome {
        Ok(merge) => merge,
        Err(Cancelled) => unreachable!("the progress callback never asks to stop"),
    }
}

/// Like [`merge`], but stops with [`Cancelled`] as soon as `progress` returns
/// `false`.
///
/// # Errors
///
/// [`Cancelled`] when the callback returned `false`.
pub fn try_merge(
    ancestor: &Value,
    versions: &[Version<'_>],
    resolution: Resolution,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Merge, Cancelled> {
    let total = count_nodes(ancestor)
        + versions
            .iter()
            .map(|version| count_nodes(version.document))
            .sum::<u64>();
    let numbers: Vec<u32> = versions.iter().map(|version| version.number).collect();
    let mut merger = Merger {
        numbers: &numbers,
        resolution,
        conflicts: Vec::new(),
        meter: Meter::new(total, progress),
    };
    merger.meter.report()?;
    let roots: Vec<Option<&Value>> = versions
        .iter()
        .map(|version| Some(version.document))
        .collect();
    let mut at = String::new();
    let merged = merger.merge_at(&mut at, Some(ancestor), &roots)?;
    merger.meter.finish()?;
    let Some(merged) = merged else {
        unreachable!("every document has a root, and a merge keeps one of them")
    };
    Ok(Merge {
        merged,
        conflicts: merger.conflicts,
    })
}

/// The walk over all the documents.
struct Merger<'n, 'p> {
    numbers: &'n [u32],
    resolution: Resolution,
    conflicts: Vec<Conflict>,
    meter: Meter<'p>,
}

impl Merger<'_, '_> {
    /// Merges what the versions have at `at` (`None`: absent), returning what
    /// the merged document has there.
    fn merge_at(
        &mut self,
        at: &mut String,
        ancestor: Option<&Value>,
        versions: &[Option<&Value>],
    ) -> Result<Option<Value>, Cancelled> {
        if let Some(Value::Object(base)) = ancestor {
            let objects: Option<Vec<&Map<String, Value>>> = versions
                .iter()
                .map(|version| match version {
                    Some(Value::Object(object)) => Some(object),
                    _ => None,
                })
                .collect();
            if let Some(objects) = objects {
                return Ok(Some(Value::Object(self.merge_objects(at, base, &objects)?)));
            }
        }
        let nodes = nodes_in(ancestor) + versions.iter().map(|v| nodes_in(*v)).sum::<u64>();
        self.meter.advance(nodes)?;
        let changed: Vec<&Option<&Value>> = versions
            .iter()
            .filter(|version| **version != ancestor)
            .collect();
        let Some(&&first) = changed.first() else {
            return Ok(ancestor.cloned());
        };
        if changed.iter().all(|version| **version == first) {
            return Ok(first.cloned());
        }
        self.conflicts.push(Conflict {
            pointer: at.clone(),
            ancestor: Side::of(ancestor),
            versions: self
                .numbers
                .iter()
                .zip(versions)
                .map(|(&version, &side)| VersionSide {
                    version,
                    changed: side != ancestor,
                    side: Side::of(side),
                })
                .collect(),
        });
        Ok(match self.resolution {
            Resolution::Ancestor => ancestor.cloned(),
            Resolution::First => first.cloned(),
        })
    }

    /// Merges objects member by member: the ancestor's members in its order,
    /// then those the versions added, in version order.
    fn merge_objects(
        &mut self,
        at: &mut String,
        base: &Map<String, Value>,
        objects: &[&Map<String, Value>],
    ) -> Result<Map<String, Value>, Cancelled> {
        self.meter.advance(1 + objects.len() as u64)?;
        let mut seen: HashSet<&str> = base.keys().map(String::as_str).collect();
        let mut keys: Vec<&String> = base.keys().collect();
        for object in objects {
            for key in object.keys() {
                if seen.insert(key) {
                    keys.push(key);
                }
            }
        }
        let mut merged = Map::new();
        let parent = at.len();
        let mut members = Vec::with_capacity(objects.len());
        for key in keys {
            pointer::push_key(at, key);
            members.clear();
            members.extend(objects.iter().map(|object| object.get(key)));
            if let Some(value) = self.merge_at(at, base.get(key), &members)? {
                merged.insert(key.clone(), value);
            }
            at.truncate(parent);
        }
        Ok(merged)
    }
}

fn nodes_in(value: Option<&Value>) -> u64 {
    value.map_or(0, count_nodes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(ancestor: &Value, versions: &[Value], resolution: Resolution) -> Merge {
        merge(ancestor, &numbered(versions), resolution, &mut |_| ())
    }

    #[test]
    fn changes_to_different_members_combine() {
        let ancestor = json!({"a": 1, "b": {"x": 1, "y": 2}, "c": 3});
        let versions = [
            json!({"a": 2, "b": {"x": 1, "y": 2}, "c": 3}),
            json!({"a": 1, "b": {"x": 1, "y": 5, "z": 0}}),
        ];
        let merge = run(&ancestor, &versions, Resolution::Ancestor);
        assert!(merge.is_clean());
        assert_eq!(merge.merged, json!({"a": 2, "b": {"x": 1, "y": 5, "z": 0}}));
    }

    #[test]
    fn resolutions_pick_the_ancestor_or_the_first_change() {
        let ancestor = json!({"a": 1});
        let versions = [json!({"a": 1}), json!({"a": 2}), json!({"a": 3})];
        let kept = run(&ancestor, &versions, Resolution::Ancestor);
        assert_eq!(kept.merged, ancestor);
        let taken = run(&ancestor, &versions, Resolution::First);
        assert_eq!(taken.merged, json!({"a": 2}));
        assert_eq!(kept.conflicts, taken.conflicts);
    }

    #[test]
    fn the_result_serializes_with_its_clean_flag() {
        let merge = run(&json!(1), &[json!(2), json!(3)], Resolution::Ancestor);
        assert_eq!(
            serde_json::to_value(&merge).unwrap(),
            json!({
                "merged": 1,
                "clean": false,
                "conflicts": [{
                    "pointer": "",
                    "ancestor": {"value": 1},
                    "versions": [
                        {"version": 1, "changed": true, "value": 2},
                        {"version": 2, "changed": true, "value": 3}
                    ]
                }]
            })
        );
    }

    #[test]
    fn version_numbers_come_from_the_versions() {
        let (two, five) = (json!([2]), json!([5]));
        let versions = [
            Version {
                number: 2,
                document: &two,
            },
            Version {
                number: 5,
                document: &five,
            },
        ];
        let merge = merge(&json!([]), &versions, Resolution::Ancestor, &mut |_| ());
        let numbers: Vec<u32> = merge.conflicts[0]
            .versions
            .iter()
            .map(|v| v.version)
            .collect();
        assert_eq!(numbers, [2, 5]);
    }

    #[test]
    fn progress_counts_every_node_once_and_cancels() {
        let ancestor: Value = (0..300)
            .map(|index| (format!("k{index}"), json!({"n": index})))
            .collect::<Map<_, _>>()
            .into();
        let versions = [ancestor.clone(), ancestor.clone()];
        let mut seen = Vec::new();
        run_with(&ancestor, &versions, &mut |update| {
            seen.push(update);
            true
        })
        .unwrap();
        let total = 3 * count_nodes(&ancestor);
        assert_eq!(seen.first(), Some(&Progress { done: 0, total }));
        assert_eq!(seen.last(), Some(&Progress { done: total, total }));
        assert!(seen.windows(2).all(|pair| pair[0].done < pair[1].done));
        assert!(seen.len() <= 102, "{} reports", seen.len());

        let mut calls = 0;
        let stopped = run_with(&ancestor, &versions, &mut |update| {
            calls += 1;
            update.done * 5 < update.total
        });
        assert_eq!(stopped, Err(Cancelled));
        assert!(calls < 30, "{calls} reports");
    }

    fn run_with(
        ancestor: &Value,
        versions: &[Value],
        progress: &mut dyn FnMut(Progress) -> bool,
    ) -> Result<Merge, Cancelled> {
        try_merge(
            ancestor,
            &numbered(versions),
            Resolution::Ancestor,
            progress,
        )
    }
}
