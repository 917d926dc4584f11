//! Loading a spec and refusing, with a message naming the file and the operation, what
//! progenitor 0.15 would reject late or panic on.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use openapiv3::{OpenAPI, ReferenceOr, StatusCode};
use serde_json::Value;

/// Why a spec cannot be used. `Display` names the spec file first.
#[derive(Debug)]
pub struct SpecError {
    /// The spec, as the user would name it (e.g. `openapi/nexway-iam.yaml`).
    pub spec: String,
    /// The operation at fault, as `create_user (POST /iam/users)`, when there is one.
    pub operation: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.operation {
            Some(op) => write!(f, "{}: operation {op}: {}", self.spec, self.message),
            None => write!(f, "{}: {}", self.spec, self.message),
        }
    }
}

impl std::error::Error for SpecError {}

/// Reads and checks a spec. `display_name` is how errors name it.
pub fn load(path: &Path, display_name: &str) -> Result<OpenAPI, SpecError> {
    parse(&read(path, display_name)?, display_name)
}

/// Reads a spec's text, unchecked.
pub fn read(path: &Path, display_name: &str) -> Result<String, SpecError> {
    std::fs::read_to_string(path).map_err(|e| SpecError {
        spec: display_name.to_owned(),
        operation: None,
        message: format!("cannot read {}: {e}", path.display()),
    })
}

/// Parses and checks a spec's text, and returns it as the generator reads it (answers read
/// liberally: see [`crate::liberal`]).
pub fn parse(text: &str, display_name: &str) -> Result<OpenAPI, SpecError> {
    let fail = |message: String| SpecError {
        spec: display_name.to_owned(),
        operation: None,
        message,
    };
    let mut json = to_json(text, display_name)?;

    match json.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        Some(v) => {
            return Err(fail(format!(
                "`openapi: {v}`: only OpenAPI 3.0.x is supported"
            )));
        }
        None => return Err(fail("no `openapi: 3.0.x` version field".to_owned())),
    }
    check_refs(&json, &json, &mut Vec::new()).map_err(|(ptr, reference)| SpecError {
        spec: display_name.to_owned(),
        operation: operation_at(&json, &ptr),
        message: format!("unknown $ref `{reference}` at `{}`", ptr.join("/")),
    })?;
    // The deliberate differences from the vendor's contract are for `contract-diff` and the
    // README's table; the generator never sees them, so they cannot change the generated code.
    crate::contract::records(&json, display_name).map_err(|e| fail(e.message))?;
    crate::contract::strip_records(&mut json);
    crate::liberal::read_answers_liberally(&mut json).map_err(fail)?;
    let spec: OpenAPI = serde_json::from_value(json)
        .map_err(|e| fail(format!("not an OpenAPI 3.0 document: {e}")))?;
    check_operations(&spec, display_name)?;
    Ok(spec)
}

/// A spec's text as JSON, unchecked.
pub fn to_json(text: &str, display_name: &str) -> Result<Value, SpecError> {
    let fail = |message: String| SpecError {
        spec: display_name.to_owned(),
        operation: None,
        message,
    };
    let yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| fail(format!("not valid YAML: {e}")))?;
    serde_json::to_value(&yaml).map_err(|e| fail(format!("not representable as JSON: {e}")))
}

/// Every `$ref` must be local (`#/...`) and point at something. On failure: where, and the ref.
fn check_refs(
    root: &Value,
    node: &Value,
    at: &mut Vec<String>,
) -> Result<(), (Vec<String>, String)> {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                let resolves = reference
                    .strip_prefix('#')
                    .is_some_and(|pointer| root.pointer(pointer).is_some());
                if !resolves {
                    return Err((at.clone(), reference.clone()));
                }
            }
            for (key, child) in map {
                at.push(key.replace('~', "~0").replace('/', "~1"));
                check_refs(root, child, at)?;
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                at.push(i.to_string());
                check_refs(root, child, at)?;
                at.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// If `ptr` lies inside an operation (`paths/<path>/<method>/...`), that operation's name.
fn operation_at(json: &Value, ptr: &[String]) -> Option<String> {
    let [paths, path, method, ..] = ptr else {
        return None;
    };
    if paths != "paths" || !METHODS.contains(&method.as_str()) {
        return None;
    }
    let path = path.replace("~1", "/").replace("~0", "~");
    let id = json["paths"][&path][method]["operationId"].as_str();
    Some(operation_name(id, method, &path))
}

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn operation_name(id: Option<&str>, method: &str, path: &str) -> String {
    let method = method.to_ascii_uppercase();
    match id {
        Some(id) => format!("`{id}` ({method} {path})"),
        None => format!("{method} {path}"),
    }
}

/// What an operation's responses must satisfy for progenitor 0.15 to generate it.
fn check_operations(spec: &OpenAPI, display_name: &str) -> Result<(), SpecError> {
    let mut seen: HashMap<String, String> = HashMap::new();
    for (path, item) in spec.paths.iter() {
        let ReferenceOr::Item(item) = item else {
            return Err(SpecError {
                spec: display_name.to_owned(),
                operation: Some(path.clone()),
                message: "a path item given as a $ref is not supported".to_owned(),
            });
        };
        for (method, op) in item.iter() {
            let name = operation_name(op.operation_id.as_deref(), method, path);
            let fail = |message: String| SpecError {
                spec: display_name.to_owned(),
                operation: Some(name.clone()),
                message,
            };
            let Some(id) = &op.operation_id else {
                return Err(fail(
                    "no `operationId`: every operation needs one (it names the client method)"
                        .to_owned(),
                ));
            };
            if let Some(first) = seen.insert(
                id.clone(),
                format!("{} {path}", method.to_ascii_uppercase()),
            ) {
                return Err(fail(format!(
                    "`operationId: {id}` is used twice (also by {first})"
                )));
            }
            let kinds = response_kinds(spec, op).map_err(fail)?;
            for (side, filter) in [
                ("success", is_success as fn(&Status) -> bool),
                ("error", is_error),
            ] {
                let by_kind: BTreeMap<&String, Vec<&Status>> = kinds
                    .iter()
                    .filter(|(s, _)| filter(s))
                    .fold(BTreeMap::new(), |mut acc, (s, k)| {
                        acc.entry(k).or_default().push(s);
                        acc
                    });
                if by_kind.len() > 1 {
                    let listed = by_kind
                        .iter()
                        .map(|(kind, statuses)| {
                            let s: Vec<String> = statuses.iter().map(|s| s.to_string()).collect();
                            format!("{} -> {kind}", s.join(", "))
                        })
                        .collect::<Vec<_>>()
                        .join("; ");
                    return Err(fail(format!(
                        "its {side} responses have different bodies ({listed}); progenitor 0.15 \
                         takes one {side} body type per operation: give every {side} status the \
                         same schema, or none"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A response status as written in the spec.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Code(u16),
    Range(u16),
    Default,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(c) => write!(f, "{c}"),
            Self::Range(r) => write!(f, "{r}XX"),
            Self::Default => f.write_str("default"),
        }
    }
}

// As progenitor's `is_success_or_default` / `is_error_or_default`.
fn is_success(s: &Status) -> bool {
    matches!(
        s,
        Status::Default | Status::Code(101 | 200..=299) | Status::Range(2)
    )
}

fn is_error(s: &Status) -> bool {
    matches!(
        s,
        Status::Default | Status::Code(400..=599) | Status::Range(4..=5)
    )
}

/// Each response's body kind, as progenitor sees it: the JSON schema (by `$ref`, or the inline
/// schema's text), "raw" for another media type, or "no body".
fn response_kinds(
    spec: &OpenAPI,
    op: &openapiv3::Operation,
) -> Result<Vec<(Status, String)>, String> {
    let responses = op
        .responses
        .default
        .iter()
        .map(|r| (Status::Default, r))
        .chain(op.responses.responses.iter().map(|(code, r)| {
            let status = match code {
                StatusCode::Code(c) => Status::Code(*c),
                StatusCode::Range(r) => Status::Range(*r),
            };
            (status, r)
        }));
    let mut out = Vec::new();
    for (status, response) in responses {
        let response = resolve_response(spec, response)?;
        let json = response
            .content
            .iter()
            .find(|(mt, _)| *mt == "application/json" || mt.starts_with("application/json;"));
        let kind = match json {
            Some((_, mt)) => match &mt.schema {
                Some(ReferenceOr::Reference { reference }) => {
                    format!("`{}`", reference.rsplit('/').next().unwrap_or(reference))
                }
                Some(ReferenceOr::Item(schema)) => format!(
                    "inline schema {}",
                    serde_json::to_string(schema).unwrap_or_default()
                ),
                None => {
                    return Err(format!(
                        "response {status} has JSON content without a schema"
                    ));
                }
            },
            None if !response.content.is_empty() => "a non-JSON body".to_owned(),
            None => "no body".to_owned(),
        };
        out.push((status, kind));
    }
    Ok(out)
}

fn resolve_response<'a>(
    spec: &'a OpenAPI,
    response: &'a ReferenceOr<openapiv3::Response>,
) -> Result<&'a openapiv3::Response, String> {
    match response {
        ReferenceOr::Item(r) => Ok(r),
        ReferenceOr::Reference { reference } => {
            let name = reference
                .strip_prefix("#/components/responses/")
                .ok_or_else(|| format!("unsupported response $ref `{reference}`"))?;
            match spec.components.as_ref().and_then(|c| c.responses.get(name)) {
                Some(ReferenceOr::Item(r)) => Ok(r),
                Some(ReferenceOr::Reference { .. }) => Err(format!(
                    "response $ref `{reference}` points at another $ref"
                )),
                None => Err(format!("unknown $ref `{reference}`")),
            }
        }
    }
}
