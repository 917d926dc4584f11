//! Answers are decoded liberally: the generator's reading of what a spec says about responses.
//!
//! A spec says what the vendor publishes. A client that decoded answers exactly as published
//! would turn a user that *was* created into an error the day the vendor adds an enum value or
//! sends `null` for a list. So before progenitor sees a spec, every schema reachable from a
//! response body is read liberally (the spec file itself is not changed):
//!
//! - a property whose schema is a named string enum (or a list of them) becomes
//!   `iam_core::Open<TheEnum>`: documented values stay typed, others are kept as sent;
//! - a list or map property also accepts `null` (the generated field becomes an `Option`);
//! - a required scalar property also accepts `null`.
//!
//! Unknown properties are already ignored by the generated types (they deny none), and a property
//! the vendor does not require is already optional. Requests are left alone: what we send stays
//! closed. A schema reachable from both a request and an answer would need both readings, so a
//! spec must give the request its own schema wherever the answer's needs `Open` (the error says
//! which); the extra `null`s are harmless on the request side (`None` is never sent).

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

/// The crate and type the open enums are generated as (`x-rust-type`, read by typify).
pub const OPEN_CRATE: &str = "iam-core";
/// The version of [`OPEN_CRATE`] the generated code is written for.
pub const OPEN_CRATE_VERSION: &str = "0.1.0";

/// Rewrites `spec` (an OpenAPI 3.0 document as JSON) so its answers decode liberally. On a shape
/// it cannot read liberally, says which schema and property.
pub fn read_answers_liberally(spec: &mut Value) -> Result<(), String> {
    let answers = reachable(spec, Side::Answer);
    let requests = reachable(spec, Side::Request);
    let enums: BTreeSet<String> = component_names(spec)
        .into_iter()
        .filter(|name| is_string_enum(component(spec, name).unwrap_or(&Value::Null)))
        .collect();

    for name in &answers {
        let Some(Value::Object(schema)) = spec
            .pointer_mut(&format!("/components/schemas/{name}"))
            .map(|s| &mut *s)
        else {
            continue;
        };
        let required: BTreeSet<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let Some(Value::Object(properties)) = schema.get_mut("properties") else {
            continue;
        };
        for (property, prop_schema) in properties.iter_mut() {
            let at = || format!("components/schemas/{name}/properties/{property}");
            let opened = open_enum(prop_schema, &enums).map_err(|e| format!("{}: {e}", at()))?;
            if opened {
                if requests.contains(name) {
                    return Err(format!(
                        "{}: `{name}` is used by a request and by an answer, and this enum must be \
                         open in the answer but closed in the request: give the request its own schema",
                        at()
                    ));
                }
                if required.contains(property) && prop_schema.get("x-rust-type").is_some() {
                    return Err(format!(
                        "{}: a required enum in an answer is not supported (it could not be null)",
                        at()
                    ));
                }
                continue;
            }
            let nullable = is_list_or_map(prop_schema)
                || (required.contains(property) && is_scalar(prop_schema));
            if nullable && let Value::Object(map) = prop_schema {
                map.insert("nullable".into(), Value::Bool(true));
            }
        }
    }
    Ok(())
}

/// Makes `schema` an `Open` if it is a `$ref` to a string enum, or a list of them. Returns whether
/// it did; refuses an enum written inline (it has no name for `Open` to wrap).
fn open_enum(schema: &mut Value, enums: &BTreeSet<String>) -> Result<bool, String> {
    if schema.get("enum").is_some() {
        return Err(
            "an enum in an answer must be a named schema under components/schemas, so \
                    that it can be generated as iam_core::Open<Name>"
                .to_owned(),
        );
    }
    if let Some(target) = ref_target(schema)
        && enums.contains(target)
    {
        let description = schema.get("description").cloned();
        *schema = open_schema(schema.clone(), description);
        return Ok(true);
    }
    if schema.get("type").and_then(Value::as_str) == Some("array")
        && let Some(items) = schema.get_mut("items")
    {
        let opened = open_enum(items, enums)?;
        if opened && let Value::Object(map) = schema {
            map.insert("nullable".into(), Value::Bool(true));
        }
        return Ok(opened);
    }
    Ok(false)
}

/// `{"x-rust-type": Open<ref>}`, keeping the description. The `allOf` keeps the schema's meaning
/// for anything but typify (which stops at `x-rust-type`).
fn open_schema(reference: Value, description: Option<Value>) -> Value {
    let mut open = json!({
        "allOf": [reference.clone()],
        "x-rust-type": {
            "crate": OPEN_CRATE,
            "version": OPEN_CRATE_VERSION,
            "path": "iam_core::Open",
            "parameters": [reference],
        }
    });
    if let (Some(description), Value::Object(map)) = (description, &mut open) {
        map.insert("description".into(), description);
    }
    open
}

#[derive(Clone, Copy)]
enum Side {
    Request,
    Answer,
}

/// The component schemas reachable from every request body, or from every response body.
fn reachable(spec: &Value, side: Side) -> BTreeSet<String> {
    let mut roots = Vec::new();
    for item in spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        for (method, op) in item.1.as_object().into_iter().flatten() {
            if ![
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            match side {
                Side::Request => roots.extend(op.get("requestBody").map(|b| resolve(spec, b))),
                Side::Answer => roots.extend(
                    op.get("responses")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                        .map(|(_, r)| resolve(spec, r)),
                ),
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&Value> = roots;
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(map) => {
                if let Some(target) = ref_target(node)
                    && seen.insert(target.to_owned())
                    && let Some(schema) = component(spec, target)
                {
                    stack.push(schema);
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    seen
}

/// `node`, or what its `$ref` points at.
fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node.get("$ref").and_then(Value::as_str) {
        Some(r) => spec.pointer(r.trim_start_matches('#')).unwrap_or(node),
        None => node,
    }
}

fn ref_target(schema: &Value) -> Option<&str> {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
}

fn component<'a>(spec: &'a Value, name: &str) -> Option<&'a Value> {
    spec.pointer(&format!("/components/schemas/{name}"))
}

fn component_names(spec: &Value) -> Vec<String> {
    spec.pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn is_string_enum(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string") && schema.get("enum").is_some()
}

fn is_list_or_map(schema: &Value) -> bool {
    match schema.get("type").and_then(Value::as_str) {
        Some("array") => true,
        Some("object") => schema
            .get("properties")
            .is_none_or(|p| p.as_object().is_none_or(Map::is_empty)),
        _ => false,
    }
}

fn is_scalar(schema: &Value) -> bool {
    matches!(
        schema.get("type").and_then(Value::as_str),
        Some("string" | "boolean" | "integer" | "number")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(answer: Value, request: Value, extra: Value) -> Value {
        let mut schemas = json!({
            "State": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
            "Answer": answer,
            "Request": request,
        });
        for (k, v) in extra.as_object().unwrap() {
            schemas[k] = v.clone();
        }
        json!({
            "openapi": "3.0.3",
            "paths": {"/users": {"post": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Request"}}}},
                "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}}}
            }}},
            "components": {"schemas": schemas}
        })
    }

    #[test]
    fn answers_are_opened_and_nullable_requests_untouched() {
        let state = json!({"$ref": "#/components/schemas/State"});
        let mut s = spec(
            json!({"type": "object", "required": ["name"], "properties": {
                "state": state, "states": {"type": "array", "items": state},
                "tags": {"type": "array", "items": {"type": "string"}},
                "attrs": {"type": "object", "additionalProperties": {"type": "string"}},
                "name": {"type": "string"}, "nick": {"type": "string"},
                "nested": {"$ref": "#/components/schemas/Nested"}
            }}),
            json!({"type": "object", "properties": {"state": state}}),
            json!({"Nested": {"type": "object", "properties": {"s": state}}}),
        );
        let request_before = s.pointer("/components/schemas/Request").cloned();
        read_answers_liberally(&mut s).unwrap();
        let a = |p: &str| {
            s.pointer(&format!("/components/schemas/Answer/properties/{p}"))
                .unwrap()
        };
        assert_eq!(a("state")["x-rust-type"]["path"], "iam_core::Open");
        assert_eq!(a("state")["x-rust-type"]["parameters"][0], state);
        assert_eq!(
            a("states")["items"]["x-rust-type"]["path"],
            "iam_core::Open"
        );
        assert_eq!(a("states")["nullable"], true);
        assert_eq!(a("tags")["nullable"], true);
        assert_eq!(a("attrs")["nullable"], true);
        assert_eq!(
            a("name")["nullable"],
            true,
            "a required scalar accepts null"
        );
        assert_eq!(
            a("nick").get("nullable"),
            None,
            "an optional scalar is already an Option"
        );
        assert_eq!(
            s.pointer("/components/schemas/Nested/properties/s/x-rust-type/path")
                .unwrap(),
            "iam_core::Open",
            "reached through a $ref"
        );
        assert_eq!(
            s.pointer("/components/schemas/Request").cloned(),
            request_before
        );
    }

    #[test]
    fn refuses_what_it_cannot_read_liberally_naming_the_place() {
        let state = json!({"$ref": "#/components/schemas/State"});
        let shared = json!({"$ref": "#/components/schemas/Shared"});
        let cases = [
            (
                spec(
                    json!({"type": "object", "properties": {"s": {"type": "string", "enum": ["A"]}}}),
                    json!({}),
                    json!({}),
                ),
                "Answer/properties/s: an enum in an answer must be a named schema",
            ),
            (
                spec(
                    json!({"type": "object", "properties": {"x": shared}}),
                    json!({"type": "object", "properties": {"x": shared}}),
                    json!({"Shared": {"type": "object", "properties": {"s": state}}}),
                ),
                "Shared/properties/s: `Shared` is used by a request and by an answer",
            ),
            (
                spec(
                    json!({"type": "object", "required": ["s"], "properties": {"s": state}}),
                    json!({}),
                    json!({}),
                ),
                "Answer/properties/s: a required enum in an answer is not supported",
            ),
        ];
        for (mut s, expected) in cases {
            let err = read_answers_liberally(&mut s).unwrap_err();
            assert!(err.contains(expected), "{err}\nexpected: {expected}");
        }
    }
}
