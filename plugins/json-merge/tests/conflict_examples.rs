//! Example merges, checked against the whole rendered result: how conflicts are
//! reported, deletions against changes, and `null` against absence.

use longrun_json_merge::{Merge, Resolution, merge, numbered};
use serde_json::{Map, Value, json};

fn run(ancestor: Value, versions: &[Value], resolution: Resolution) -> Value {
    let merge: Merge = merge(&ancestor, &numbered(versions), resolution, &mut |_| ());
    serde_json::to_value(&merge).expect("a merge renders")
}

#[test]
fn a_deletion_against_a_change_is_a_conflict() {
    let ancestor = json!({"a": 1, "b": 2});
    let versions = [json!({"b": 2}), json!({"a": 5, "b": 2})];
    let conflict = json!({
        "pointer": "/a",
        "ancestor": {"value": 1},
        "versions": [
            {"version": 1, "changed": true, "absent": true},
            {"version": 2, "changed": true, "value": 5}
        ]
    });
    assert_eq!(
        run(ancestor.clone(), &versions, Resolution::Ancestor),
        json!({"merged": {"a": 1, "b": 2}, "clean": false, "conflicts": [conflict.clone()]})
    );
    // The first change is the deletion: the member goes.
    assert_eq!(
        run(ancestor, &versions, Resolution::First),
        json!({"merged": {"b": 2}, "clean": false, "conflicts": [conflict]})
    );
}

#[test]
fn null_is_a_value_and_not_an_absence() {
    let ancestor = json!({"a": 1});
    let versions = [json!({"a": null}), json!({})];
    let conflict = json!({
        "pointer": "/a",
        "ancestor": {"value": 1},
        "versions": [
            {"version": 1, "changed": true, "value": null},
            {"version": 2, "changed": true, "absent": true}
        ]
    });
    assert_eq!(
        run(ancestor.clone(), &versions, Resolution::First),
        json!({"merged": {"a": null}, "clean": false, "conflicts": [conflict]})
    );

    // Deleting a null member is a change, and so is adding one.
    let merged = run(
        json!({"a": null}),
        &[json!({}), json!({"a": null})],
        Resolution::Ancestor,
    );
    assert_eq!(
        merged,
        json!({"merged": {}, "clean": true, "conflicts": []})
    );
    let merged = run(
        json!({}),
        &[json!({}), json!({"a": null})],
        Resolution::Ancestor,
    );
    assert_eq!(
        merged,
        json!({"merged": {"a": null}, "clean": true, "conflicts": []})
    );
}

#[test]
fn agreeing_deletions_and_additions_are_clean() {
    let ancestor = json!({"gone": {"x": 1}, "kept": true});
    let versions = [
        json!({"kept": true, "new": [1, {"n": null}]}),
        json!({"kept": true, "new": [1, {"n": null}]}),
    ];
    assert_eq!(
        run(ancestor, &versions, Resolution::Ancestor),
        json!({"merged": {"kept": true, "new": [1, {"n": null}]}, "clean": true, "conflicts": []})
    );
}

#[test]
fn different_additions_conflict_with_an_absent_ancestor() {
    let ancestor = json!({});
    let versions = [json!({"n": {"x": 1}}), json!({"n": {"y": 2}})];
    let conflict = json!({
        "pointer": "/n",
        "ancestor": {"absent": true},
        "versions": [
            {"version": 1, "changed": true, "value": {"x": 1}},
            {"version": 2, "changed": true, "value": {"y": 2}}
        ]
    });
    // Objects added by both are not merged: the ancestor has no object there.
    assert_eq!(
        run(ancestor.clone(), &versions, Resolution::Ancestor),
        json!({"merged": {}, "clean": false, "conflicts": [conflict.clone()]})
    );
    assert_eq!(
        run(ancestor, &versions, Resolution::First),
        json!({"merged": {"n": {"x": 1}}, "clean": false, "conflicts": [conflict]})
    );
}

#[test]
fn an_object_replaced_by_a_scalar_conflicts_with_a_change_inside_it() {
    let ancestor = json!({"o": {"x": 1, "y": 1}});
    let versions = [json!({"o": {"x": 2, "y": 1}}), json!({"o": 3})];
    let result = run(ancestor, &versions, Resolution::Ancestor);
    assert_eq!(result["merged"], json!({"o": {"x": 1, "y": 1}}));
    assert_eq!(result["conflicts"][0]["pointer"], "/o");
    assert_eq!(result["conflicts"].as_array().map(Vec::len), Some(1));
}

#[test]
fn arrays_are_atomic() {
    let ancestor = json!({"list": [1, 2, 3]});
    let versions = [json!({"list": [0, 1, 2, 3]}), json!({"list": [1, 2, 3, 4]})];
    let result = run(ancestor, &versions, Resolution::Ancestor);
    assert_eq!(result["merged"], json!({"list": [1, 2, 3]}));
    assert_eq!(
        result["conflicts"],
        json!([{
            "pointer": "/list",
            "ancestor": {"value": [1, 2, 3]},
            "versions": [
                {"version": 1, "changed": true, "value": [0, 1, 2, 3]},
                {"version": 2, "changed": true, "value": [1, 2, 3, 4]}
            ]
        }])
    );
    // One version changing an array is no conflict.
    let result = run(
        json!([1]),
        &[json!([1]), json!([1, 2])],
        Resolution::Ancestor,
    );
    assert_eq!(result["merged"], json!([1, 2]));
    assert_eq!(result["clean"], true);
}

#[test]
fn pointers_are_escaped() {
    let ancestor = json!({"a/b": {"m~n": 0, "": 0}});
    let versions = [
        json!({"a/b": {"m~n": 1, "": 1}}),
        json!({"a/b": {"m~n": 2, "": 2}}),
    ];
    let result = run(ancestor, &versions, Resolution::Ancestor);
    let pointers: Vec<&str> = result["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|conflict| conflict["pointer"].as_str())
        .collect();
    assert_eq!(pointers, ["/a~1b/", "/a~1b/m~0n"]);
}

#[test]
fn every_version_is_listed_and_the_unchanged_ones_say_so() {
    let ancestor = json!({"k": "a"});
    let versions = [json!({"k": "a"}), json!({"k": "b"}), json!({"k": "c"})];
    let result = run(ancestor, &versions, Resolution::First);
    assert_eq!(result["merged"], json!({"k": "b"}));
    assert_eq!(
        result["conflicts"][0]["versions"],
        json!([
            {"version": 1, "changed": false, "value": "a"},
            {"version": 2, "changed": true, "value": "b"},
            {"version": 3, "changed": true, "value": "c"}
        ])
    );
}

#[test]
fn two_versions_agreeing_against_an_unchanged_one_is_clean() {
    let ancestor = json!({"k": 1, "l": 1});
    let versions = [
        json!({"k": 2, "l": 1}),
        json!({"k": 1, "l": 1}),
        json!({"k": 2, "l": 3}),
    ];
    let result = run(ancestor, &versions, Resolution::Ancestor);
    assert_eq!(
        result,
        json!({"merged": {"k": 2, "l": 3}, "clean": true, "conflicts": []})
    );
}

#[test]
fn a_conflict_at_the_root_has_the_empty_pointer() {
    let result = run(
        json!({"a": 1}),
        &[json!([1]), json!("text")],
        Resolution::Ancestor,
    );
    assert_eq!(result["merged"], json!({"a": 1}));
    assert_eq!(result["conflicts"][0]["pointer"], "");
    assert_eq!(
        result["conflicts"][0]["ancestor"],
        json!({"value": {"a": 1}})
    );
}

#[test]
fn numbers_compare_as_written() {
    // 1 and 1.0 are different serde_json values: changing one into the other is a change.
    let result = run(
        json!({"n": 1}),
        &[json!({"n": 1.0}), json!({"n": 1})],
        Resolution::Ancestor,
    );
    assert_eq!(result["clean"], true);
    assert!(result["merged"]["n"].is_f64(), "{result}");
}

#[test]
fn merged_members_are_ordered_as_the_object_type_orders_them() {
    let text = r#"{"z": 0, "y": 0}"#;
    let ancestor: Value = serde_json::from_str(text).unwrap();
    let versions: [Value; 2] = [
        serde_json::from_str(r#"{"z": 0, "y": 0, "m": 1}"#).unwrap(),
        serde_json::from_str(r#"{"b": 2, "z": 0, "y": 1}"#).unwrap(),
    ];
    let merge = merge(
        &ancestor,
        &numbered(&versions),
        Resolution::Ancestor,
        &mut |_| (),
    );
    let keys: Vec<&str> = merge
        .merged
        .as_object()
        .into_iter()
        .flat_map(Map::keys)
        .map(String::as_str)
        .collect();
    let preserves_order =
        ancestor.as_object().and_then(|map| map.keys().next()) == Some(&"z".to_owned());
    if preserves_order {
        // The ancestor's members first, then new ones in version order.
        assert_eq!(keys, ["z", "y", "m", "b"]);
    } else {
        assert_eq!(keys, ["b", "m", "y", "z"]);
    }
}
