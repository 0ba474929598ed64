//! Section 5: the operations a server offers.
//!
//! - `operations.list`: `GET /v1/operations`, its order and every operation
//!   object's members, names, inputs, digest and links (OP-1 to OP-4, OP-6, OP-7);
//! - `operations.single`: `GET /v1/operations/{op}` equals the listed object (OP-8);
//! - `operations.not-found`: unknown operation names (OP-9);
//! - `operations.params-schema-enforced`: the probe's published `paramsSchema`
//!   decides which params the server accepts (OP-5). The suite evaluates the
//!   schema itself for the keywords it knows (a small draft 2020-12 subset) and
//!   compares its verdicts with the server's on a set of params; params whose
//!   verdict needs a keyword it does not know are left out.

use serde_json::{Map, Value, json};

use crate::check::{Check, Finding, Outcome};
use crate::context::{Ctx, Response};
use crate::ensure;
use crate::exchange::show_body;

/// The checks of this section.
pub const CHECKS: &[Check] = &[
    Check {
        id: "operations.list",
        title: "GET /v1/operations lists well-formed operations sorted by name",
        class: "core",
        requirements: &["OP-1", "OP-2", "OP-3", "OP-4", "OP-6", "OP-7", "GEN-5"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(list(ctx)),
    },
    Check {
        id: "operations.single",
        title: "GET /v1/operations/{op} answers the object the list shows",
        class: "core",
        requirements: &["OP-8"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(single(ctx)),
    },
    Check {
        id: "operations.not-found",
        title: "an unknown operation name is 404 operation-not-found, also when starting a job",
        class: "core",
        requirements: &["OP-9", "JOB-CREATE-7"],
        needs: &["service.document"],
        jobs: 0,
        exclusive: false,
        run: |ctx| Box::pin(not_found(ctx)),
    },
    Check {
        id: "operations.params-schema-enforced",
        title: "the probe's published paramsSchema decides which params are accepted",
        class: "core",
        requirements: &["OP-5"],
        needs: &["service.document", "probe.offered"],
        jobs: 1,
        exclusive: false,
        run: |ctx| Box::pin(params_schema_enforced(ctx)),
    },
];

/// Requirements of this section that no check covers, with the reason.
pub const UNCHECKED: &[(&str, &str)] = &[];

/// The most operations whose single document the suite reads.
const MAX_SINGLE: usize = 32;

async fn operations(ctx: &Ctx) -> Result<(Response, Vec<Value>), Finding> {
    let response = ctx.get("/v1/operations").send().await?;
    ensure!(
        response.status == 200,
        "OP-1",
        "GET /v1/operations answered {}, expected 200: {}",
        response.status,
        show_body(&response.body)
    );
    let doc = response.json_object("OP-1")?;
    let ops = doc["operations"].as_array().cloned().ok_or_else(|| {
        Finding::violation(
            "OP-1",
            format!("GET /v1/operations has no array `operations`: {doc}"),
        )
    })?;
    Ok((response, ops))
}

fn is_lower_hex_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

async fn list(ctx: Ctx) -> Outcome {
    let (response, ops) = operations(&ctx).await?;
    ensure!(
        response.media_type().as_deref() == Some("application/json"),
        "GEN-5",
        "GET /v1/operations has Content-Type {:?}, expected application/json",
        response.header("content-type")
    );
    let base = ctx.public_base();
    let mut names: Vec<&str> = Vec::new();
    for op in &ops {
        ensure!(
            op.is_object(),
            "OP-2",
            "an operation is not an object: {op}"
        );
        let name = op["name"].as_str().unwrap_or("");
        for (member, ok) in [
            ("name", op["name"].is_string()),
            ("version", op["version"].is_string()),
            ("title", op["title"].is_string()),
            ("description", op["description"].is_string()),
            (
                "stages",
                op["stages"]
                    .as_array()
                    .is_some_and(|s| s.iter().all(Value::is_string)),
            ),
            ("inputs", op["inputs"].is_array()),
            ("paramsSchema", op["paramsSchema"].is_object()),
            ("resultMediaType", op["resultMediaType"].is_string()),
            ("pluginSha256", op["pluginSha256"].is_string()),
            ("links", op["links"].is_object()),
        ] {
            ensure!(
                ok,
                "OP-2",
                "operation {name:?}: member `{member}` is missing or has the wrong type ({})",
                op[member]
            );
        }
        ensure!(
            !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-')),
            "OP-3",
            "the operation name {name:?} does not match ^[a-z0-9-]{{1,64}}$"
        );
        ensure!(
            !names.contains(&name),
            "OP-3",
            "the operation name {name:?} is listed twice"
        );
        names.push(name);

        let inputs = op["inputs"].as_array().cloned().unwrap_or_default();
        let mut input_names: Vec<String> = Vec::new();
        for input in &inputs {
            let input_name = input["name"].as_str().unwrap_or("").to_owned();
            ensure!(
                input["name"].is_string()
                    && input["description"].is_string()
                    && input["mediaTypes"]
                        .as_array()
                        .is_some_and(|m| m.iter().all(Value::is_string))
                    && input["required"].is_boolean()
                    && input.get("maxBytes").is_none_or(Value::is_u64),
                "OP-4",
                "operation {name:?}: the input {input} needs `name`, `description` (strings), \
                 `mediaTypes` (array of strings), `required` (boolean) and, if present, an integer `maxBytes`"
            );
            ensure!(
                !input_names.contains(&input_name),
                "OP-4",
                "operation {name:?}: the input name {input_name:?} appears twice"
            );
            input_names.push(input_name);
        }

        let digest = op["pluginSha256"].as_str().unwrap_or("");
        ensure!(
            is_lower_hex_sha256(digest),
            "OP-6",
            "operation {name:?}: pluginSha256 {digest:?} is not 64 lowercase hexadecimal digits"
        );

        let own = format!("{base}/v1/operations/{name}");
        ensure!(
            op["links"]["self"] == own.as_str(),
            "OP-7",
            "operation {name:?}: links.self is {}, expected the absolute URL {own}",
            op["links"]["self"]
        );
        ensure!(
            op["links"]["jobs"] == format!("{own}/jobs").as_str(),
            "OP-7",
            "operation {name:?}: links.jobs is {}, expected the absolute URL {own}/jobs",
            op["links"]["jobs"]
        );
    }
    let mut sorted = names.clone();
    sorted.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    ensure!(
        sorted == names,
        "OP-1",
        "the operations are listed as {names:?}, not sorted by name in ascending byte order"
    );
    Ok(())
}

async fn single(ctx: Ctx) -> Outcome {
    let (_, ops) = operations(&ctx).await?;
    for op in ops.iter().take(MAX_SINGLE) {
        let Some(name) = op["name"].as_str() else {
            continue;
        };
        let response = ctx.get(&format!("/v1/operations/{name}")).send().await?;
        ensure!(
            response.status == 200,
            "OP-8",
            "GET /v1/operations/{name} (a listed operation) answered {}: {}",
            response.status,
            show_body(&response.body)
        );
        let one = response.json_object("OP-8")?;
        ensure!(
            &one == op,
            "OP-8",
            "GET /v1/operations/{name} answered {one}, but GET /v1/operations lists {op}"
        );
    }
    Ok(())
}

async fn not_found(ctx: Ctx) -> Outcome {
    let name = format!("conformance-no-such-op-{}", std::process::id());
    let response = ctx.get(&format!("/v1/operations/{name}")).send().await?;
    response.expect_problem(404, "operation-not-found", "OP-9")?;

    let jobs = format!("/v1/operations/{name}/jobs");
    let response = ctx.post_json(&jobs, &json!({"params": {}})).send().await?;
    response.expect_problem(404, "operation-not-found", "OP-9")?;

    // The operation is checked first (JOB-CREATE-7): before the media type
    // and the body.
    let response = ctx
        .request(reqwest::Method::POST, &jobs)
        .body("text/plain", "not json")
        .send()
        .await?;
    response.expect_problem(404, "operation-not-found", "JOB-CREATE-7")?;
    let response = ctx
        .request(reqwest::Method::POST, &jobs)
        .body("application/json", "{")
        .send()
        .await?;
    response.expect_problem(404, "operation-not-found", "JOB-CREATE-7")?;
    Ok(())
}

// --- A small JSON Schema evaluator (draft 2020-12 subset) ---

/// Three-valued logic: `None` when the evaluator does not know a keyword the
/// verdict depends on.
type Verdict = Option<bool>;

fn and(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or(a: Verdict, b: Verdict) -> Verdict {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// The conjunction of all verdicts (true when there are none).
fn all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut acc = Some(true);
    for v in verdicts {
        acc = and(acc, v);
    }
    acc
}

/// The disjunction of all verdicts (false when there are none).
fn any(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
    let mut acc = Some(false);
    for v in verdicts {
        acc = or(acc, v);
    }
    acc
}

/// Keywords that never affect validation.
const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "$defs",
    "$anchor",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "contentMediaType",
    "contentEncoding",
];

fn is_type(value: &Value, ty: &str) -> Verdict {
    Some(match ty {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => {
            value.is_i64()
                || value.is_u64()
                || value
                    .as_f64()
                    .is_some_and(|f| f.is_finite() && f.fract() == 0.0)
        }
        _ => return None,
    })
}

/// Whether `value` is valid against `schema`, when the evaluator can tell.
pub(crate) fn validate(schema: &Value, value: &Value) -> Verdict {
    let schema = match schema {
        Value::Bool(b) => return Some(*b),
        Value::Object(map) => map,
        _ => return None,
    };
    let mut verdict = Some(true);
    for (keyword, arg) in schema {
        let one = match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => Some(true),
            "type" => match arg {
                Value::String(ty) => is_type(value, ty),
                Value::Array(types) => any(types
                    .iter()
                    .map(|ty| ty.as_str().and_then(|t| is_type(value, t)))),
                _ => None,
            },
            "enum" => arg
                .as_array()
                .map(|all| all.iter().any(|v| json_equal(v, value))),
            "const" => Some(json_equal(arg, value)),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                match (value.as_f64(), arg.as_f64()) {
                    (Some(v), Some(bound)) => Some(match keyword.as_str() {
                        "minimum" => v >= bound,
                        "maximum" => v <= bound,
                        "exclusiveMinimum" => v > bound,
                        _ => v < bound,
                    }),
                    (None, Some(_)) => Some(true),
                    _ => None,
                }
            }
            "minLength" | "maxLength" => match (value.as_str(), arg.as_u64()) {
                (Some(s), Some(n)) => {
                    let len = s.chars().count() as u64;
                    Some(if keyword == "minLength" {
                        len >= n
                    } else {
                        len <= n
                    })
                }
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "minItems" | "maxItems" => match (value.as_array(), arg.as_u64()) {
                (Some(a), Some(n)) => {
                    let len = a.len() as u64;
                    Some(if keyword == "minItems" {
                        len >= n
                    } else {
                        len <= n
                    })
                }
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "items" => match value.as_array() {
                Some(items) if !schema.contains_key("prefixItems") => {
                    all(items.iter().map(|item| validate(arg, item)))
                }
                Some(_) => None,
                None => Some(true),
            },
            "required" => match (value.as_object(), arg.as_array()) {
                (Some(obj), Some(names)) => Some(
                    names
                        .iter()
                        .all(|n| n.as_str().is_some_and(|n| obj.contains_key(n))),
                ),
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "minProperties" | "maxProperties" => match (value.as_object(), arg.as_u64()) {
                (Some(obj), Some(n)) => {
                    let len = obj.len() as u64;
                    Some(if keyword == "minProperties" {
                        len >= n
                    } else {
                        len <= n
                    })
                }
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "properties" => match (value.as_object(), arg.as_object()) {
                (Some(obj), Some(props)) => all(props
                    .iter()
                    .map(|(name, sub)| obj.get(name).map_or(Some(true), |v| validate(sub, v)))),
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "additionalProperties" => match value.as_object() {
                Some(_) if schema.contains_key("patternProperties") => None,
                Some(obj) => {
                    let declared = schema.get("properties").and_then(Value::as_object);
                    all(obj
                        .iter()
                        .filter(|(name, _)| !declared.is_some_and(|d| d.contains_key(*name)))
                        .map(|(_, v)| validate(arg, v)))
                }
                None => Some(true),
            },
            "dependentRequired" => match (value.as_object(), arg.as_object()) {
                (Some(obj), Some(deps)) => Some(deps.iter().all(|(name, needed)| {
                    !obj.contains_key(name)
                        || needed.as_array().is_some_and(|n| {
                            n.iter()
                                .all(|n| n.as_str().is_some_and(|n| obj.contains_key(n)))
                        })
                })),
                (None, Some(_)) => Some(true),
                _ => None,
            },
            "not" => validate(arg, value).map(|v| !v),
            "allOf" => arg
                .as_array()
                .and_then(|schemas| all(schemas.iter().map(|s| validate(s, value)))),
            "anyOf" => arg
                .as_array()
                .and_then(|schemas| any(schemas.iter().map(|s| validate(s, value)))),
            "oneOf" => arg.as_array().and_then(|all| {
                let verdicts: Vec<Verdict> = all.iter().map(|s| validate(s, value)).collect();
                if verdicts.iter().all(Option::is_some) {
                    Some(verdicts.iter().filter(|v| **v == Some(true)).count() == 1)
                } else {
                    None
                }
            }),
            "if" => {
                let cond = validate(arg, value);
                let then = schema
                    .get("then")
                    .map_or(Some(true), |s| validate(s, value));
                let otherwise = schema
                    .get("else")
                    .map_or(Some(true), |s| validate(s, value));
                match cond {
                    Some(true) => then,
                    Some(false) => otherwise,
                    None => None,
                }
            }
            "then" | "else" => Some(true),
            _ => None,
        };
        verdict = and(verdict, one);
    }
    verdict
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Params to try: fixed ones, and for every integer member with bounds its
/// lowest value and the values just outside.
fn candidates(schema: &Value) -> Vec<Value> {
    let mut all = vec![
        json!({}),
        json!({"conformanceUnknownMember": 1}),
        json!({"steps": "3"}),
        json!({"steps": 2.5}),
        json!({"steps": 3.0}),
        json!({"echo": [1, {"x": null}]}),
        json!({"fail": {"code": "c", "message": "m"}}),
        json!({"fail": {"code": "", "message": "m"}}),
        json!({"fail": {"code": "c"}}),
        json!({"fail": {"code": "c", "message": "m", "x": 1}}),
        json!({"echoInput": "yes"}),
        json!({"echoInput": false}),
        json!({"resultBytes": 0}),
        json!({"resultBytes": 1, "echoInput": false}),
    ];
    let empty = Map::new();
    let props = schema["properties"].as_object().unwrap_or(&empty);
    for (name, sub) in props {
        if sub["type"] != "integer" {
            continue;
        }
        if let Some(min) = sub["minimum"].as_i64() {
            all.push(json!({ name.as_str(): min }));
            all.push(json!({ name.as_str(): min - 1 }));
        }
        if let Some(max) = sub["maximum"].as_i64() {
            all.push(json!({ name.as_str(): max + 1 }));
        }
        all.push(json!({ name.as_str(): "1" }));
    }
    all
}

async fn params_schema_enforced(ctx: Ctx) -> Outcome {
    let op = ctx.probe().to_owned();
    let response = ctx.get(&format!("/v1/operations/{op}")).send().await?;
    let doc = response.json_object("OP-2")?;
    let schema = doc["paramsSchema"].clone();
    ensure!(
        schema.is_object(),
        "OP-5",
        "the paramsSchema of {op} is {schema}, not a JSON Schema object"
    );
    let mut compared = 0;
    for params in candidates(&schema) {
        let Some(valid) = validate(&schema, &params) else {
            continue;
        };
        // Valid params that would run for long or make a big result are not tried.
        if valid
            && (params["durationMs"].as_u64().unwrap_or(0) > 100
                || params["resultBytes"].as_u64().unwrap_or(0) > 1 << 20
                || params["steps"].as_u64().unwrap_or(0) > 100)
        {
            continue;
        }
        compared += 1;
        let response = ctx.start(&op, &json!({ "params": params })).await?;
        if response.status == 202
            && let Some(url) = response.header("location")
        {
            ctx.track_job(url);
        }
        let accepted = response.status == 202;
        let refused =
            response.status == 422 && response.problem_kind().as_deref() == Some("invalid-params");
        ensure!(
            (valid && accepted) || (!valid && refused),
            "OP-5",
            "the published paramsSchema of {op} says params {params} are {}, so the server must \
             answer {}; it answered {} {}",
            if valid { "valid" } else { "invalid" },
            if valid { "202" } else { "422 invalid-params" },
            response.status,
            show_body(&response.body)
        );
    }
    if compared == 0 {
        return Err(Finding::skip(format!(
            "the paramsSchema of {op} uses keywords the suite does not evaluate, so no params could be compared"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_evaluator_knows_the_probe_schema() {
        let schema = json!({
            "type": "object",
            "properties": {
                "steps": {"type": "integer", "minimum": 1, "maximum": 10},
                "fail": {
                    "type": "object",
                    "properties": {"code": {"type": "string", "minLength": 1}},
                    "required": ["code"],
                    "additionalProperties": false
                },
                "echo": {}
            },
            "additionalProperties": false,
            "not": {"required": ["steps", "echo"]}
        });
        assert_eq!(validate(&schema, &json!({})), Some(true));
        assert_eq!(validate(&schema, &json!({"steps": 3.0})), Some(true));
        assert_eq!(validate(&schema, &json!({"steps": 2.5})), Some(false));
        assert_eq!(validate(&schema, &json!({"steps": 11})), Some(false));
        assert_eq!(validate(&schema, &json!({"x": 1})), Some(false));
        assert_eq!(
            validate(&schema, &json!({"fail": {"code": ""}})),
            Some(false)
        );
        assert_eq!(
            validate(&schema, &json!({"fail": {"code": "c"}})),
            Some(true)
        );
        assert_eq!(
            validate(&schema, &json!({"steps": 1, "echo": 1})),
            Some(false)
        );
        assert_eq!(validate(&schema, &json!([])), Some(false));
        assert_eq!(validate(&json!({"pattern": "x"}), &json!("x")), None);
    }
}
