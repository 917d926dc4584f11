//! `cargo xtask contract-diff`: our hand-written spec against a vendor's published OpenAPI 3.0
//! document, operation by operation, and the deliberate differences recorded in our spec.
//!
//! Only the operations our spec has are compared (ours has 2 of Entrust's 182 paths), each with
//! the vendor's operation of the same method and path (path parameters matched by position,
//! whatever their names). From each pair, everything a client depends on is compared: the request
//! body and parameters, the statuses, the media types of each status, every schema reached from
//! them (`$ref`s followed in each document separately, each pair of schemas compared once, so
//! cycles end), and the security schemes (by what they are: type, scheme, `in`, `name`; not by
//! their names). Descriptions, examples, titles and other prose are not differences.
//!
//! Each [`Difference`] has a stable `key` (`type`, `format`, `nullable`, `enum:VALUE`,
//! `required:NAME`, `property:NAME`, `status:CODE`, `media:TYPE`, `security:SCHEMES`, ...) and is
//! reported at a node of our spec: the schema, response, media type or operation it concerns. A
//! difference is deliberate when that node says so:
//!
//! ```yaml
//! x-contract:
//!   differs: [format]
//!   why: Entrust's sample dates are not RFC 3339, so dates are plain strings.
//! ```
//!
//! A record names its keys, so that recording one difference does not accept a later, unrelated
//! change at the same node; `why` is required. A node whose differences have different reasons
//! holds a list of records. A recorded key that no longer differs is stale.
//!
//! Everything here is a pure function over `serde_json::Value`; `main.rs` reads the files.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use serde_json::Value;

/// The extension that records deliberate differences.
pub const EXTENSION: &str = "x-contract";

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Schema keywords compared by equality (besides `type`, `format`, `nullable`, `enum`,
/// `required`, `properties`, `items`, `additionalProperties` and the combinators).
const CONSTRAINTS: &[&str] = &[
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "readOnly",
    "writeOnly",
    "default",
];

/// A document that cannot be compared, or a malformed `x-contract` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The document, as the user named it.
    pub document: String,
    /// What is wrong, and where.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.document, self.message)
    }
}

impl std::error::Error for InputError {}

/// One difference between our spec and the vendor's document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// The JSON pointer of the node in our spec it is reported at (and recorded on).
    pub ours: String,
    /// The JSON pointer of the matching node in the vendor's document.
    pub theirs: String,
    /// The stable key a record names (`format`, `enum:DERIVED`, `status:500`, ...).
    pub key: String,
    /// What differs, for people.
    pub detail: String,
    /// The first operation of ours it was reached from, e.g. `create_user (POST /api/web/v3/users)`.
    pub operation: String,
}

/// A deliberate difference recorded in our spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The JSON pointer of the node holding the `x-contract`.
    pub pointer: String,
    /// The keys it records.
    pub differs: Vec<String>,
    /// Why they differ.
    pub why: String,
}

/// The outcome of a comparison.
#[derive(Debug, Default)]
pub struct Report {
    /// Differences no record accepts.
    pub differences: Vec<Difference>,
    /// Differences a record accepts, with its `why`.
    pub recorded: Vec<(Difference, String)>,
    /// Recorded keys that no longer differ: (pointer in our spec, key).
    pub stale: Vec<(String, String)>,
}

impl Report {
    /// 0 when every difference is gone or recorded, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.differences.is_empty())
    }

    /// The report as printed: one line per unrecorded difference, one per stale record (and, with
    /// `all`, one per recorded difference), then a summary.
    pub fn render(&self, all: bool) -> String {
        let mut out = String::new();
        for d in &self.differences {
            out.push_str(&format!(
                "differs [{}] ours #{} | theirs #{}: {} (in {})\n",
                d.key, d.ours, d.theirs, d.detail, d.operation
            ));
        }
        if all {
            for (d, why) in &self.recorded {
                out.push_str(&format!(
                    "recorded [{}] ours #{} | theirs #{}: {}; why: {}\n",
                    d.key, d.ours, d.theirs, d.detail, why
                ));
            }
        }
        for (pointer, key) in &self.stale {
            out.push_str(&format!(
                "note: stale record [{key}] at ours #{pointer}: recorded in `{EXTENSION}.differs`, but it no longer differs; remove it\n"
            ));
        }
        out.push_str(&format!(
            "{} unrecorded difference(s), {} recorded as deliberate, {} stale record(s)\n",
            self.differences.len(),
            self.recorded.len(),
            self.stale.len()
        ));
        if !self.differences.is_empty() {
            out.push_str(&format!(
                "fix our spec, or record a deliberate difference on the node named by `ours`: \
                 `{EXTENSION}: {{differs: [KEY], why: \"...\"}}`\n"
            ));
        }
        out
    }
}

/// Reads a document's text (JSON or YAML) and checks that it can be compared: OpenAPI 3.0.x,
/// `paths` an object, every `$ref` local and resolvable. `name` is how errors name it.
pub fn parse_document(text: &str, name: &str) -> Result<Value, InputError> {
    let fail = |message: String| InputError {
        document: name.to_owned(),
        message,
    };
    let doc: Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| fail(format!("not valid JSON: {e}")))?
    } else {
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text)
            .map_err(|e| fail(format!("neither JSON nor valid YAML: {e}")))?;
        serde_json::to_value(&yaml).map_err(|e| fail(format!("not representable as JSON: {e}")))?
    };
    if !doc.is_object() {
        return Err(fail(
            "not an OpenAPI document: the top level is not an object".to_owned(),
        ));
    }
    match doc.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0.") => {}
        Some(v) => {
            return Err(fail(format!(
                "`openapi: {}` at #/openapi: only OpenAPI 3.0.x is supported",
                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
            )));
        }
        None if doc.get("swagger").is_some() => {
            return Err(fail(
                "a Swagger 2.0 document (#/swagger): only OpenAPI 3.0.x is supported; convert it first"
                    .to_owned(),
            ));
        }
        None => return Err(fail("no `openapi: 3.0.x` field at #/openapi".to_owned())),
    }
    if !doc.get("paths").is_some_and(Value::is_object) {
        return Err(fail("no `paths` object at #/paths".to_owned()));
    }
    check_refs(&doc, &doc, "").map_err(fail)?;
    Ok(doc)
}

fn check_refs(root: &Value, node: &Value, at: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                match reference.strip_prefix('#') {
                    Some(pointer) if root.pointer(pointer).is_some() => {}
                    Some(_) => {
                        return Err(format!("`$ref: {reference}` at #{at} points at nothing"));
                    }
                    None => {
                        return Err(format!(
                            "`$ref: {reference}` at #{at} is not local to the document \
                             (bundle the document first)"
                        ));
                    }
                }
            }
            for (key, child) in map {
                check_refs(root, child, &child_ptr(at, key))?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_refs(root, child, &format!("{at}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Every `x-contract` record in `spec`, in document order; refuses a malformed one, naming it.
pub fn records(spec: &Value, name: &str) -> Result<Vec<Record>, InputError> {
    let mut out = Vec::new();
    collect_records(spec, "", &mut out).map_err(|message| InputError {
        document: name.to_owned(),
        message,
    })?;
    Ok(out)
}

fn collect_records(node: &Value, at: &str, out: &mut Vec<Record>) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            match map.get(EXTENSION) {
                None => {}
                Some(Value::Array(list)) if !list.is_empty() => {
                    for record in list {
                        out.push(record_at(record, at)?);
                    }
                }
                Some(record) => out.push(record_at(record, at)?),
            }
            for (key, child) in map {
                if key != EXTENSION {
                    collect_records(child, &child_ptr(at, key), out)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect_records(child, &format!("{at}/{i}"), out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn record_at(record: &Value, at: &str) -> Result<Record, String> {
    let bad = |what: &str| {
        format!(
            "`{EXTENSION}` at #{at}: {what}; write `{EXTENSION}: {{differs: [KEY, ...], why: \"...\"}}` \
             (or a list of them, one per reason)"
        )
    };
    let Value::Object(record) = record else {
        return Err(bad("not an object"));
    };
    if let Some(other) = record.keys().find(|k| *k != "differs" && *k != "why") {
        return Err(bad(&format!("unknown field `{other}`")));
    }
    let differs: Vec<String> = match record.get("differs") {
        Some(Value::Array(keys)) if !keys.is_empty() => keys
            .iter()
            .map(|k| k.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| bad("every key in `differs` must be a string"))?,
        _ => return Err(bad("`differs` must be a non-empty list of keys")),
    };
    let why = match record.get("why") {
        Some(Value::String(why)) if !why.trim().is_empty() => why.trim().to_owned(),
        _ => return Err(bad("`why` is required and must say why")),
    };
    Ok(Record {
        pointer: at.to_owned(),
        differs,
        why,
    })
}

/// Removes every `x-contract` record from `spec` (the generator has no use for them).
pub fn strip_records(spec: &mut Value) {
    match spec {
        Value::Object(map) => {
            map.remove(EXTENSION);
            map.values_mut().for_each(strip_records);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_records),
        _ => {}
    }
}

/// Compares `ours` with `theirs` (both checked by [`parse_document`]) and sorts each difference
/// into recorded or not, by `ours`' `x-contract` records.
pub fn diff(ours: &Value, theirs: &Value, ours_name: &str) -> Result<Report, InputError> {
    let records = records(ours, ours_name)?;
    let found = compare(ours, theirs);
    let recorded_at: BTreeMap<(&str, &str), &Record> = records
        .iter()
        .flat_map(|r| {
            r.differs
                .iter()
                .map(move |k| ((r.pointer.as_str(), k.as_str()), r))
        })
        .collect();
    let mut report = Report::default();
    let mut used = HashSet::new();
    for d in found {
        match recorded_at.get(&(d.ours.as_str(), d.key.as_str())) {
            Some(record) => {
                used.insert((d.ours.clone(), d.key.clone()));
                let why = record.why.clone();
                report.recorded.push((d, why));
            }
            None => report.differences.push(d),
        }
    }
    for ((pointer, key), _) in recorded_at {
        if !used.contains(&(pointer.to_owned(), key.to_owned())) {
            report.stale.push((pointer.to_owned(), key.to_owned()));
        }
    }
    Ok(report)
}

/// Every difference between `ours` and `theirs` for the operations `ours` has, sorted by
/// pointer in ours, then key; each at most once.
pub fn compare(ours: &Value, theirs: &Value) -> Vec<Difference> {
    let mut cmp = Comparison {
        ours,
        theirs,
        found: BTreeMap::new(),
        seen: HashSet::new(),
        operation: String::new(),
    };
    for path in ours["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(p, _)| p)
    {
        let item_ptr = child_ptr("/paths", path);
        let item_ptr = resolve(ours, &item_ptr);
        for (method, _) in ours
            .pointer(&item_ptr)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(m, _)| METHODS.contains(&m.as_str()))
        {
            let op_ptr = child_ptr(&item_ptr, method);
            let id = ours.pointer(&op_ptr).and_then(|o| o.get("operationId"));
            cmp.operation = match id.and_then(Value::as_str) {
                Some(id) => format!("{id} ({} {path})", method.to_ascii_uppercase()),
                None => format!("{} {path}", method.to_ascii_uppercase()),
            };
            match find_path(theirs, path) {
                Some(their_path) => {
                    let their_item = resolve(theirs, &child_ptr("/paths", &their_path));
                    let their_op = child_ptr(&their_item, method);
                    if theirs.pointer(&their_op).is_some() {
                        cmp.operation_pair(
                            &item_ptr,
                            &op_ptr,
                            path,
                            &their_item,
                            &their_op,
                            &their_path,
                        );
                    } else {
                        cmp.note(
                            &op_ptr,
                            &their_item,
                            "operation",
                            format!(
                                "theirs has no {} operation on {their_path}",
                                method.to_ascii_uppercase()
                            ),
                        );
                    }
                }
                None => cmp.note(
                    &op_ptr,
                    "/paths",
                    "operation",
                    format!("theirs has no path matching {path}"),
                ),
            }
        }
    }
    cmp.found.into_values().collect()
}

/// The vendor's path that matches ours: the same segments, a `{parameter}` matching any
/// `{parameter}`. An exact match wins.
fn find_path(theirs: &Value, ours: &str) -> Option<String> {
    let paths = theirs["paths"].as_object()?;
    if paths.contains_key(ours) {
        return Some(ours.to_owned());
    }
    let shape = |p: &str| -> Vec<Option<String>> {
        p.trim_end_matches('/')
            .split('/')
            .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
            .collect()
    };
    let want = shape(ours);
    paths.keys().find(|p| shape(p) == want).cloned()
}

struct Comparison<'a> {
    ours: &'a Value,
    theirs: &'a Value,
    found: BTreeMap<(String, String, String), Difference>,
    /// Schema pairs already compared (pointer in ours, pointer in theirs): ends cycles.
    seen: HashSet<(String, String)>,
    operation: String,
}

impl Comparison<'_> {
    fn note(&mut self, ours: &str, theirs: &str, key: &str, detail: String) {
        self.found
            .entry((ours.to_owned(), key.to_owned(), theirs.to_owned()))
            .or_insert_with(|| Difference {
                ours: ours.to_owned(),
                theirs: theirs.to_owned(),
                key: key.to_owned(),
                detail,
                operation: self.operation.clone(),
            });
    }

    fn operation_pair(
        &mut self,
        our_item: &str,
        our_op: &str,
        our_path: &str,
        their_item: &str,
        their_op: &str,
        their_path: &str,
    ) {
        self.parameters(our_item, our_op, our_path, their_item, their_op, their_path);
        self.request_body(our_op, their_op);
        self.responses(our_op, their_op);
        self.security(our_op, their_op);
    }

    fn parameters(
        &mut self,
        our_item: &str,
        our_op: &str,
        our_path: &str,
        their_item: &str,
        their_op: &str,
        their_path: &str,
    ) {
        let ours = parameters(self.ours, our_item, our_op, our_path);
        let theirs = parameters(self.theirs, their_item, their_op, their_path);
        for (id, (label, ptr)) in &ours {
            match theirs.get(id) {
                Some((_, their_ptr)) => self.parameter(ptr, their_ptr),
                None => self.note(
                    our_op,
                    their_op,
                    &format!("parameter:{label}"),
                    format!("parameter {label} only in ours ({ptr})"),
                ),
            }
        }
        for (id, (label, ptr)) in &theirs {
            if !ours.contains_key(id) {
                self.note(
                    our_op,
                    their_op,
                    &format!("parameter:{label}"),
                    format!("parameter {label} only in theirs (#{ptr})"),
                );
            }
        }
    }

    fn parameter(&mut self, ours: &str, theirs: &str) {
        let (o, t) = (self.ours.pointer(ours), self.theirs.pointer(theirs));
        let required = |v: Option<&Value>| {
            v.and_then(|v| v.get("required"))
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        if required(o) != required(t) {
            self.note(
                ours,
                theirs,
                "required",
                format!("required: ours {}, theirs {}", required(o), required(t)),
            );
        }
        let has = |v: Option<&Value>| v.is_some_and(|v| v.get("schema").is_some());
        match (has(o), has(t)) {
            (true, true) => self.schema(&child_ptr(ours, "schema"), &child_ptr(theirs, "schema")),
            (false, false) => {}
            (a, _) => self.note(
                ours,
                theirs,
                "schema",
                format!("a schema only in {}", side(a)),
            ),
        }
        let content =
            |doc: &Value, p: &str| doc.pointer(p).and_then(|v| v.get("content")).is_some();
        if content(self.ours, ours) || content(self.theirs, theirs) {
            self.content(ours, theirs);
        }
    }

    fn request_body(&mut self, our_op: &str, their_op: &str) {
        let our_body = child_ptr(our_op, "requestBody");
        let their_body = child_ptr(their_op, "requestBody");
        match (
            self.ours.pointer(&our_body).is_some(),
            self.theirs.pointer(&their_body).is_some(),
        ) {
            (true, true) => {
                let (o, t) = (
                    resolve(self.ours, &our_body),
                    resolve(self.theirs, &their_body),
                );
                let required = |doc: &Value, p: &str| {
                    doc.pointer(p)
                        .and_then(|b| b.get("required"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false)
                };
                let (ro, rt) = (required(self.ours, &o), required(self.theirs, &t));
                if ro != rt {
                    self.note(
                        &o,
                        &t,
                        "required",
                        format!("required: ours {ro}, theirs {rt}"),
                    );
                }
                self.content(&o, &t);
            }
            (false, false) => {}
            (a, _) => self.note(
                our_op,
                their_op,
                "requestBody",
                format!("a request body only in {}", side(a)),
            ),
        }
    }

    fn responses(&mut self, our_op: &str, their_op: &str) {
        let statuses = |doc: &Value, op: &str| -> Vec<String> {
            doc.pointer(&child_ptr(op, "responses"))
                .and_then(Value::as_object)
                .map(|r| r.keys().filter(|k| !k.starts_with("x-")).cloned().collect())
                .unwrap_or_default()
        };
        let ours = statuses(self.ours, our_op);
        let theirs = statuses(self.theirs, their_op);
        let norm = |s: &str| s.to_ascii_uppercase();
        let mut their_left: Vec<&String> = theirs.iter().collect();
        let mut our_left = Vec::new();
        for s in &ours {
            match their_left.iter().position(|t| norm(t) == norm(s)) {
                Some(i) => {
                    let t = their_left.remove(i);
                    self.response(our_op, s, their_op, t);
                }
                None => our_left.push(s),
            }
        }
        // A range (`2XX`) on one side answers for the codes the other side lists in it.
        let in_range = |range: &str, code: &str| {
            let range = norm(range);
            range.len() == 3
                && range.ends_with("XX")
                && code.len() == 3
                && code.as_bytes()[0] == range.as_bytes()[0]
                && code.bytes().all(|b| b.is_ascii_digit())
        };
        let mut matched_theirs = BTreeSet::new();
        let mut matched_ours = BTreeSet::new();
        for s in &our_left {
            for t in &their_left {
                let (range_ours, range_theirs) = (in_range(s, t), in_range(t, s));
                if range_ours || range_theirs {
                    matched_ours.insert((*s).clone());
                    matched_theirs.insert((*t).clone());
                    self.note(
                        our_op,
                        &child_ptr(&child_ptr(their_op, "responses"), t),
                        &format!("status:{s}"),
                        format!("ours answers {s} where theirs publishes {t}"),
                    );
                    self.response(our_op, s, their_op, t);
                }
            }
        }
        for s in our_left.iter().filter(|s| !matched_ours.contains(**s)) {
            self.note(
                our_op,
                &child_ptr(their_op, "responses"),
                &format!("status:{s}"),
                format!("status {s} only in ours"),
            );
        }
        for t in their_left.iter().filter(|t| !matched_theirs.contains(**t)) {
            self.note(
                our_op,
                &child_ptr(&child_ptr(their_op, "responses"), t),
                &format!("status:{t}"),
                format!("status {t} only in theirs"),
            );
        }
    }

    fn response(&mut self, our_op: &str, our_status: &str, their_op: &str, their_status: &str) {
        let o = resolve(
            self.ours,
            &child_ptr(&child_ptr(our_op, "responses"), our_status),
        );
        let t = resolve(
            self.theirs,
            &child_ptr(&child_ptr(their_op, "responses"), their_status),
        );
        self.content(&o, &t);
    }

    /// The media types of a response, request body or parameter, and their schemas.
    fn content(&mut self, ours: &str, theirs: &str) {
        let types = |doc: &Value, at: &str| -> BTreeMap<String, String> {
            doc.pointer(&child_ptr(at, "content"))
                .and_then(Value::as_object)
                .map(|c| {
                    c.keys()
                        .map(|k| (k.to_ascii_lowercase(), k.clone()))
                        .collect()
                })
                .unwrap_or_default()
        };
        let (o, t) = (types(self.ours, ours), types(self.theirs, theirs));
        for (media, name) in &o {
            match t.get(media) {
                Some(their_name) => {
                    let om = child_ptr(&child_ptr(ours, "content"), name);
                    let tm = child_ptr(&child_ptr(theirs, "content"), their_name);
                    let has = |doc: &Value, p: &str| doc.pointer(&child_ptr(p, "schema")).is_some();
                    match (has(self.ours, &om), has(self.theirs, &tm)) {
                        (true, true) => {
                            self.schema(&child_ptr(&om, "schema"), &child_ptr(&tm, "schema"))
                        }
                        (false, false) => {}
                        (a, _) => self.note(
                            &om,
                            &tm,
                            "schema",
                            format!("a schema for {media} only in {}", side(a)),
                        ),
                    }
                }
                None => self.note(
                    ours,
                    theirs,
                    &format!("media:{media}"),
                    format!("media type {media} only in ours"),
                ),
            }
        }
        for media in t.keys().filter(|m| !o.contains_key(*m)) {
            self.note(
                ours,
                theirs,
                &format!("media:{media}"),
                format!("media type {media} only in theirs"),
            );
        }
    }

    fn schema(&mut self, ours: &str, theirs: &str) {
        let (o_ptr, t_ptr) = (resolve(self.ours, ours), resolve(self.theirs, theirs));
        if !self.seen.insert((o_ptr.clone(), t_ptr.clone())) {
            return;
        }
        let (Some(o), Some(t)) = (self.ours.pointer(&o_ptr), self.theirs.pointer(&t_ptr)) else {
            return;
        };
        let (o, t) = (o.clone(), t.clone());
        let show = |v: Option<&Value>| v.map_or_else(|| "none".to_owned(), |v| format!("`{v}`"));
        for keyword in ["type", "format"].iter().chain(CONSTRAINTS) {
            let (a, b) = (o.get(*keyword), t.get(*keyword));
            if a != b {
                self.note(
                    &o_ptr,
                    &t_ptr,
                    keyword,
                    format!("{keyword}: ours {}, theirs {}", show(a), show(b)),
                );
            }
        }
        let nullable = |v: &Value| v.get("nullable").and_then(Value::as_bool).unwrap_or(false);
        if nullable(&o) != nullable(&t) {
            self.note(
                &o_ptr,
                &t_ptr,
                "nullable",
                format!("nullable: ours {}, theirs {}", nullable(&o), nullable(&t)),
            );
        }
        self.enums(&o_ptr, &o, &t_ptr, &t);
        let names = |v: &Value, field: &str| -> BTreeSet<String> {
            v.get(field)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (ro, rt) = (names(&o, "required"), names(&t, "required"));
        for name in ro.symmetric_difference(&rt) {
            let whose = side(ro.contains(name));
            self.note(
                &o_ptr,
                &t_ptr,
                &format!("required:{name}"),
                format!("`{name}` is required only in {whose}"),
            );
        }
        let props = |v: &Value| -> BTreeSet<String> {
            v.get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (po, pt) = (props(&o), props(&t));
        for name in po.union(&pt) {
            let op = child_ptr(&child_ptr(&o_ptr, "properties"), name);
            let tp = child_ptr(&child_ptr(&t_ptr, "properties"), name);
            match (po.contains(name), pt.contains(name)) {
                (true, true) => self.schema(&op, &tp),
                (true, false) => self.note(
                    &o_ptr,
                    &t_ptr,
                    &format!("property:{name}"),
                    format!("property `{name}` only in ours (#{op})"),
                ),
                _ => self.note(
                    &o_ptr,
                    &t_ptr,
                    &format!("property:{name}"),
                    format!("property `{name}` only in theirs (#{tp})"),
                ),
            }
        }
        self.sub_schema(&o_ptr, &o, &t_ptr, &t, "items");
        self.sub_schema(&o_ptr, &o, &t_ptr, &t, "not");
        self.additional_properties(&o_ptr, &o, &t_ptr, &t);
        for combinator in ["allOf", "oneOf", "anyOf"] {
            let len = |v: &Value| v.get(combinator).and_then(Value::as_array).map(Vec::len);
            match (len(&o), len(&t)) {
                (Some(a), Some(b)) if a == b => {
                    for i in 0..a {
                        let at = |p: &str| format!("{}/{i}", child_ptr(p, combinator));
                        self.schema(&at(&o_ptr), &at(&t_ptr));
                    }
                }
                (None, None) => {}
                (a, b) => self.note(
                    &o_ptr,
                    &t_ptr,
                    combinator,
                    format!(
                        "{combinator}: ours {}, theirs {}",
                        a.map_or("none".to_owned(), |n| format!("{n} schemas")),
                        b.map_or("none".to_owned(), |n| format!("{n} schemas")),
                    ),
                ),
            }
        }
    }

    fn enums(&mut self, o_ptr: &str, o: &Value, t_ptr: &str, t: &Value) {
        let values =
            |v: &Value| -> Option<Vec<Value>> { v.get("enum").and_then(Value::as_array).cloned() };
        match (values(o), values(t)) {
            (Some(a), Some(b)) => {
                for v in &a {
                    if !b.contains(v) {
                        self.note(
                            o_ptr,
                            t_ptr,
                            &format!("enum:{}", enum_key(v)),
                            format!("enum value {v} only in ours"),
                        );
                    }
                }
                for v in &b {
                    if !a.contains(v) {
                        self.note(
                            o_ptr,
                            t_ptr,
                            &format!("enum:{}", enum_key(v)),
                            format!("enum value {v} only in theirs"),
                        );
                    }
                }
            }
            (None, None) => {}
            (a, b) => self.note(
                o_ptr,
                t_ptr,
                "enum",
                format!(
                    "only {} restricts the values (to {} values)",
                    side(a.is_some()),
                    a.or(b).map_or(0, |v| v.len())
                ),
            ),
        }
    }

    fn sub_schema(&mut self, o_ptr: &str, o: &Value, t_ptr: &str, t: &Value, keyword: &str) {
        match (o.get(keyword).is_some(), t.get(keyword).is_some()) {
            (true, true) => self.schema(&child_ptr(o_ptr, keyword), &child_ptr(t_ptr, keyword)),
            (false, false) => {}
            (a, _) => self.note(
                o_ptr,
                t_ptr,
                keyword,
                format!("`{keyword}` only in {}", side(a)),
            ),
        }
    }

    fn additional_properties(&mut self, o_ptr: &str, o: &Value, t_ptr: &str, t: &Value) {
        // Absent, `true` and `{}` all allow any property.
        let kind = |v: &Value| match v.get("additionalProperties") {
            None | Some(Value::Bool(true)) => "any",
            Some(Value::Object(m)) if m.is_empty() => "any",
            Some(Value::Bool(false)) => "none",
            Some(_) => "schema",
        };
        match (kind(o), kind(t)) {
            ("schema", "schema") => self.schema(
                &child_ptr(o_ptr, "additionalProperties"),
                &child_ptr(t_ptr, "additionalProperties"),
            ),
            (a, b) if a == b => {}
            (a, b) => self.note(
                o_ptr,
                t_ptr,
                "additionalProperties",
                format!("additional properties: ours {a}, theirs {b}"),
            ),
        }
    }

    fn security(&mut self, our_op: &str, their_op: &str) {
        let ours = security(self.ours, our_op);
        let theirs = security(self.theirs, their_op);
        let our_at = if self.ours.pointer(&child_ptr(our_op, "security")).is_some() {
            child_ptr(our_op, "security")
        } else {
            "/security".to_owned()
        };
        let their_at = if self
            .theirs
            .pointer(&child_ptr(their_op, "security"))
            .is_some()
        {
            child_ptr(their_op, "security")
        } else {
            "/security".to_owned()
        };
        for alt in ours.symmetric_difference(&theirs) {
            let whose = side(ours.contains(alt));
            self.note(
                our_op,
                &their_at,
                &format!("security:{alt}"),
                format!("security {alt} accepted only in {whose} (ours #{our_at})"),
            );
        }
    }
}

fn side(ours: bool) -> &'static str {
    if ours { "ours" } else { "theirs" }
}

/// An enum value as a key: a string as it is (`""` for the empty one), anything else as JSON.
fn enum_key(v: &Value) -> String {
    match v {
        Value::String(s) if !s.is_empty() => s.clone(),
        other => other.to_string(),
    }
}

/// The operation's parameters (the path item's, overridden by the operation's), by identity:
/// a path parameter by its position in the path, any other by `in` and name. Each with its label
/// and resolved pointer.
fn parameters(doc: &Value, item: &str, op: &str, path: &str) -> BTreeMap<String, (String, String)> {
    let positions: Vec<String> = path
        .split('/')
        .filter(|s| s.starts_with('{') && s.ends_with('}'))
        .map(|s| s[1..s.len() - 1].to_owned())
        .collect();
    let mut out = BTreeMap::new();
    for at in [item, op] {
        let list = child_ptr(at, "parameters");
        let n = doc
            .pointer(&list)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..n {
            let ptr = resolve(doc, &format!("{list}/{i}"));
            let Some(p) = doc.pointer(&ptr) else { continue };
            let name = p.get("name").and_then(Value::as_str).unwrap_or_default();
            let location = p.get("in").and_then(Value::as_str).unwrap_or_default();
            let (id, label) = if location == "path" {
                match positions.iter().position(|n| n == name) {
                    Some(pos) => (format!("path#{pos}"), format!("path#{pos}")),
                    None => (format!("path:{name}"), format!("path:{name}")),
                }
            } else if location == "header" {
                let name = name.to_ascii_lowercase();
                (format!("header:{name}"), format!("header:{name}"))
            } else {
                (format!("{location}:{name}"), format!("{location}:{name}"))
            };
            out.insert(id, (label, ptr));
        }
    }
    out
}

/// The operation's effective security, each alternative described by its schemes' definitions
/// (`apiKey(header authorization)`, `http(bearer)`, several joined by ` + `; `none` for an empty
/// requirement). Scopes are not compared.
fn security(doc: &Value, op: &str) -> BTreeSet<String> {
    let requirements = doc
        .pointer(&child_ptr(op, "security"))
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    requirements
        .iter()
        .map(|req| {
            let schemes: BTreeSet<String> = req
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, _)| describe_scheme(doc, name))
                .collect();
            if schemes.is_empty() {
                "none".to_owned()
            } else {
                schemes.into_iter().collect::<Vec<_>>().join(" + ")
            }
        })
        .collect()
}

fn describe_scheme(doc: &Value, name: &str) -> String {
    let ptr = resolve(doc, &child_ptr("/components/securitySchemes", name));
    let Some(s) = doc.pointer(&ptr) else {
        return format!("undefined({name})");
    };
    let field = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
    match field("type") {
        "http" => format!("http({})", field("scheme").to_ascii_lowercase()),
        "apiKey" => {
            let location = field("in");
            let key = if location == "header" {
                field("name").to_ascii_lowercase()
            } else {
                field("name").to_owned()
            };
            format!("apiKey({location} {key})")
        }
        "openIdConnect" => format!("openIdConnect({})", field("openIdConnectUrl")),
        "oauth2" => {
            let flows: Vec<String> = s
                .get("flows")
                .and_then(Value::as_object)
                .map(|f| f.keys().cloned().collect())
                .unwrap_or_default();
            format!("oauth2({})", flows.join(" "))
        }
        other => format!("{other}()"),
    }
}

/// `ptr` after following `$ref`s (a chain of them, at most 32).
fn resolve(doc: &Value, ptr: &str) -> String {
    let mut ptr = ptr.to_owned();
    for _ in 0..32 {
        match doc
            .pointer(&ptr)
            .and_then(|n| n.get("$ref"))
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) if doc.pointer(target).is_some() => ptr = target.to_owned(),
            _ => break,
        }
    }
    ptr
}

/// `parent/key`, with `key` escaped as a JSON pointer token.
fn child_ptr(parent: &str, key: &str) -> String {
    format!("{parent}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// A pointer of a spec for people: `User.lastAuthTime`, `UserParms.groups[]`,
/// `POST /api/web/v3/users`, `response Error`, `POST /iam/users 201 application/json`.
pub fn describe_pointer(pointer: &str) -> String {
    let tokens: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut out = match tokens.first().map(String::as_str) {
        Some("components") if tokens.len() >= 3 && tokens[1] == "schemas" => tokens[2].clone(),
        Some("components") if tokens.len() >= 3 => {
            format!("{} {}", tokens[1].trim_end_matches('s'), tokens[2])
        }
        Some("paths") if tokens.len() >= 3 => {
            format!("{} {}", tokens[2].to_ascii_uppercase(), tokens[1])
        }
        _ => return format!("#{pointer}"),
    };
    let mut i = 3;
    while i < tokens.len() {
        match tokens[i].as_str() {
            "properties" if i + 1 < tokens.len() => {
                out.push('.');
                out.push_str(&tokens[i + 1]);
                i += 2;
            }
            "items" => {
                out.push_str("[]");
                i += 1;
            }
            "additionalProperties" => {
                out.push_str("{}");
                i += 1;
            }
            "responses" | "content" | "schema" | "requestBody" => {
                if tokens[i] == "requestBody" {
                    out.push_str(" request");
                }
                if matches!(tokens[i].as_str(), "responses" | "content") && i + 1 < tokens.len() {
                    out.push(' ');
                    out.push_str(&tokens[i + 1]);
                    i += 2;
                } else {
                    i += 1;
                }
            }
            other => {
                out.push('/');
                out.push_str(other);
                i += 1;
            }
        }
    }
    out
}

/// The markdown table of every recorded difference of `specs` (name, document): one row per
/// spec, keys and reason, listing the elements that share them.
pub fn contract_table(specs: &[(&str, &Value)]) -> Result<String, InputError> {
    let mut out =
        String::from("| spec | element | differs (`x-contract` keys) | why |\n|---|---|---|---|\n");
    let mut any = false;
    for (name, spec) in specs {
        let mut rows: Vec<((String, String), Vec<String>)> = Vec::new();
        for r in records(spec, name)? {
            let keys = r
                .differs
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let group = (keys, r.why.replace('\n', " ").replace('|', "\\|"));
            let element = format!("`{}`", describe_pointer(&r.pointer));
            match rows.iter_mut().find(|(g, _)| *g == group) {
                Some((_, elements)) => elements.push(element),
                None => rows.push((group, vec![element])),
            }
        }
        for ((keys, why), elements) in rows {
            any = true;
            out.push_str(&format!(
                "| {name} | {} | {keys} | {why} |\n",
                elements.join(", ")
            ));
        }
    }
    if !any {
        out.push_str("| — | — | — | nothing recorded |\n");
    }
    Ok(out)
}

/// The marker comments between which `openapi/README.md` holds [`contract_table`].
pub const TABLE_BEGIN: &str = "<!-- BEGIN contract table: generated by `cargo xtask generate` from the specs' x-contract records; do not edit -->";
/// See [`TABLE_BEGIN`].
pub const TABLE_END: &str = "<!-- END contract table -->";

/// `readme` with the text between the markers replaced by `table`; `None` if a marker is missing.
pub fn splice_table(readme: &str, table: &str) -> Option<String> {
    let start = readme.find(TABLE_BEGIN)? + TABLE_BEGIN.len();
    let end = start + readme[start..].find(TABLE_END)?;
    Some(format!("{}\n{}{}", &readme[..start], table, &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A small spec in our style: one operation, a schema reached through `$ref`s.
    fn ours() -> Value {
        json!({
            "openapi": "3.0.3",
            "security": [{"bearer": []}],
            "paths": {"/users/{id}": {"post": {
                "operationId": "create_user",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserParms"}}}},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}},
                    "400": {"$ref": "#/components/responses/Error"}
                }
            }}},
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "ours"}},
                "responses": {"Error": {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
                "schemas": {
                    "UserParms": {"type": "object", "required": ["userId"], "properties": {
                        "userId": {"type": "string"},
                        "state": {"$ref": "#/components/schemas/State"}
                    }},
                    "User": {"type": "object", "properties": {
                        "id": {"type": "string", "description": "ours says this"},
                        "created": {"type": "string", "format": "date-time"},
                        "state": {"$ref": "#/components/schemas/State"},
                        "manager": {"$ref": "#/components/schemas/User"}
                    }},
                    "State": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
                    "Error": {"type": "object", "properties": {"code": {"type": "string"}}}
                }
            }
        })
    }

    /// The vendor's version: the same contract, written differently (inline schemas, other
    /// names, descriptions and examples), so that nothing differs.
    fn theirs() -> Value {
        json!({
            "openapi": "3.0.1",
            "paths": {"/users/{userUuid}": {"post": {
                "operationId": "createUserUsingPOST",
                "parameters": [{"name": "userUuid", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserParms"}}}},
                "responses": {
                    "200": {"description": "Successful", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserV2"}}}},
                    "400": {"description": "Bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorInfo"}}}}
                },
                "security": [{"Token": ["USERS:ADD"]}]
            }}},
            "components": {
                "securitySchemes": {"Token": {"type": "http", "scheme": "Bearer"}},
                "schemas": {
                    "UserParms": {"type": "object", "required": ["userId"], "properties": {
                        "userId": {"type": "string", "example": "john"},
                        "state": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]}
                    }},
                    "UserV2": {"type": "object", "description": "theirs", "properties": {
                        "id": {"type": "string", "description": "theirs says that", "example": "x"},
                        "created": {"type": "string", "format": "date-time"},
                        "state": {"type": "string", "enum": ["ACTIVE", "INACTIVE"]},
                        "manager": {"$ref": "#/components/schemas/UserV2"}
                    }},
                    "ErrorInfo": {"type": "object", "properties": {"code": {"type": "string"}}}
                }
            }
        })
    }

    fn keys(ours: &Value, theirs: &Value) -> Vec<(String, String, String)> {
        compare(ours, theirs)
            .into_iter()
            .map(|d| (d.key, d.ours, d.theirs))
            .collect()
    }

    fn one(ours: &Value, theirs: &Value) -> (String, String, String) {
        let found = keys(ours, theirs);
        assert_eq!(found.len(), 1, "{found:#?}");
        found.into_iter().next().unwrap()
    }

    #[test]
    fn the_same_contract_written_differently_has_no_difference() {
        assert_eq!(keys(&ours(), &theirs()), vec![]);
    }

    #[test]
    fn an_added_enum_value_is_reported_at_both_pointers() {
        let mut t = theirs();
        t["components"]["schemas"]["UserV2"]["properties"]["state"]["enum"]
            .as_array_mut()
            .unwrap()
            .push(json!("DELETED"));
        assert_eq!(
            one(&ours(), &t),
            (
                "enum:DELETED".into(),
                "/components/schemas/State".into(),
                "/components/schemas/UserV2/properties/state".into()
            )
        );
    }

    #[test]
    fn a_removed_property_and_a_new_one() {
        let mut t = theirs();
        let props = t["components"]["schemas"]["UserV2"]["properties"]
            .as_object_mut()
            .unwrap();
        props.remove("created");
        props.insert("email".into(), json!({"type": "string"}));
        assert_eq!(
            keys(&ours(), &t),
            vec![
                (
                    "property:created".into(),
                    "/components/schemas/User".into(),
                    "/components/schemas/UserV2".into()
                ),
                (
                    "property:email".into(),
                    "/components/schemas/User".into(),
                    "/components/schemas/UserV2".into()
                ),
            ]
        );
    }

    #[test]
    fn type_format_nullable_required_and_constraints() {
        let mut t = theirs();
        let s = &mut t["components"]["schemas"]["UserV2"];
        s["properties"]["id"]["type"] = json!("integer");
        s["properties"]["created"]
            .as_object_mut()
            .unwrap()
            .remove("format");
        s["properties"]["state"]["nullable"] = json!(true);
        s["required"] = json!(["id"]);
        t["components"]["schemas"]["UserParms"]["properties"]["userId"]["minLength"] = json!(1);
        let found: Vec<String> = keys(&ours(), &t).into_iter().map(|k| k.0).collect();
        assert_eq!(
            found,
            ["nullable", "required:id", "format", "type", "minLength"],
            "sorted by pointer in ours"
        );
    }

    #[test]
    fn statuses_ranges_and_media_types() {
        let mut t = theirs();
        let r = &mut t["paths"]["/users/{userUuid}"]["post"]["responses"];
        r["404"] = r["400"].clone();
        let mut o = ours();
        let or = &mut o["paths"]["/users/{id}"]["post"]["responses"];
        let ok = or.as_object_mut().unwrap().remove("200").unwrap();
        or["2XX"] = ok;
        or["500"] = json!({"$ref": "#/components/responses/Error"});
        o["components"]["responses"]["Error"]["content"]["application/problem+json"] =
            json!({"schema": {"type": "object"}});
        let op = "/paths/~1users~1{id}/post";
        assert_eq!(
            keys(&o, &t),
            vec![
                (
                    "media:application/problem+json".into(),
                    "/components/responses/Error".into(),
                    "/paths/~1users~1{userUuid}/post/responses/400".into()
                ),
                (
                    "status:2XX".into(),
                    op.into(),
                    "/paths/~1users~1{userUuid}/post/responses/200".into()
                ),
                (
                    "status:404".into(),
                    op.into(),
                    "/paths/~1users~1{userUuid}/post/responses/404".into()
                ),
                (
                    "status:500".into(),
                    op.into(),
                    "/paths/~1users~1{userUuid}/post/responses".into()
                ),
            ]
        );
    }

    #[test]
    fn security_is_compared_by_scheme_definition_not_name() {
        let mut t = theirs();
        t["components"]["securitySchemes"]["Token"] =
            json!({"type": "apiKey", "in": "header", "name": "Authorization"});
        let found = keys(&ours(), &t);
        let found: Vec<&str> = found.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(
            found,
            [
                "security:apiKey(header authorization)",
                "security:http(bearer)"
            ]
        );
        let mut o = ours();
        o["paths"]["/users/{id}"]["post"]["security"] = json!([]);
        let mut t = theirs();
        t["paths"]["/users/{userUuid}"]["post"]
            .as_object_mut()
            .unwrap()
            .remove("security");
        assert_eq!(keys(&o, &t), vec![], "`security: []` is no security");
    }

    #[test]
    fn a_missing_operation_and_parameters_by_position() {
        let mut t = theirs();
        let paths = t["paths"].as_object_mut().unwrap();
        let op = paths.remove("/users/{userUuid}").unwrap();
        paths.insert("/people/{id}".into(), op);
        assert_eq!(one(&ours(), &t).0, "operation");
        let mut t = theirs();
        t["paths"]["/users/{userUuid}"]["post"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "dryRun", "in": "query", "schema": {"type": "boolean"}}));
        assert_eq!(one(&ours(), &t).0, "parameter:query:dryRun");
    }

    #[test]
    fn cycles_end() {
        let mut o = ours();
        o["components"]["schemas"]["Loop"] = json!({"$ref": "#/components/schemas/Loop2"});
        o["components"]["schemas"]["Loop2"] = json!({"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}}});
        o["components"]["schemas"]["User"]["properties"]["loop"] =
            json!({"$ref": "#/components/schemas/Loop"});
        let mut t = theirs();
        t["components"]["schemas"]["UserV2"]["properties"]["loop"] = json!({"type": "object", "properties": {"next": {"$ref": "#/components/schemas/UserV2/properties/loop"}}});
        assert_eq!(keys(&o, &t), vec![]);
    }

    #[test]
    fn a_record_accepts_only_its_keys_and_a_stale_one_is_noted() {
        let mut t = theirs();
        let state = &mut t["components"]["schemas"]["UserV2"]["properties"]["state"];
        state["enum"] = json!(["ACTIVE", "INACTIVE", "DELETED"]);
        state["format"] = json!("state");
        let mut o = ours();
        o["components"]["schemas"]["State"]["x-contract"] =
            json!({"differs": ["enum:DELETED", "enum:ARCHIVED"], "why": "we know better"});
        let report = diff(&o, &t, "ours").unwrap();
        let open: Vec<&str> = report.differences.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(
            open,
            ["format"],
            "another change at the recorded node is still reported"
        );
        assert_eq!(report.recorded.len(), 1);
        assert_eq!(report.recorded[0].1, "we know better");
        assert_eq!(
            report.stale,
            vec![("/components/schemas/State".into(), "enum:ARCHIVED".into())]
        );
        assert_eq!(report.exit_code(), 1);
        o["components"]["schemas"]["State"]["x-contract"]["differs"] =
            json!(["enum:DELETED", "format"]);
        let report = diff(&o, &t, "ours").unwrap();
        assert_eq!(report.exit_code(), 0);
        assert!(
            report
                .render(false)
                .contains("0 unrecorded difference(s), 2 recorded")
        );
    }

    #[test]
    fn malformed_records_are_refused_naming_the_node() {
        for record in [
            json!({"differs": ["format"]}),
            json!({"differs": [], "why": "x"}),
            json!({"differs": "format", "why": "x"}),
            json!({"differs": ["format"], "why": "x", "because": "y"}),
            json!("format"),
            json!([]),
            json!([{"differs": ["format"], "why": "x"}, {"differs": ["type"]}]),
        ] {
            let mut o = ours();
            o["components"]["schemas"]["State"]["x-contract"] = record;
            let err = records(&o, "ours.yaml").unwrap_err().to_string();
            assert!(
                err.starts_with("ours.yaml: `x-contract` at #/components/schemas/State"),
                "{err}"
            );
        }
    }

    #[test]
    fn unusable_documents_are_refused_saying_what_and_where() {
        let cases = [
            ("{not json", "not valid JSON"),
            ("[1, 2]", "the top level is not an object"),
            ("openapi: [unclosed\n", "neither JSON nor valid YAML"),
            ("swagger: '2.0'\npaths: {}\n", "Swagger 2.0"),
            (
                "openapi: 3.1.0\npaths: {}\n",
                "`openapi: 3.1.0` at #/openapi",
            ),
            ("openapi: 3.0.1\n", "no `paths` object at #/paths"),
            (
                "openapi: 3.0.1\npaths:\n  /a:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Nope'\n",
                "`$ref: #/components/responses/Nope` at #/paths/~1a/get/responses/200 points at nothing",
            ),
            (
                "openapi: 3.0.1\npaths:\n  /a:\n    $ref: 'other.yaml#/a'\n",
                "is not local",
            ),
        ];
        for (text, expected) in cases {
            let err = parse_document(text, "doc.json").unwrap_err().to_string();
            assert!(err.starts_with("doc.json: "), "{err}");
            assert!(err.contains(expected), "{err}\nexpected: {expected}");
        }
        assert!(parse_document("openapi: 3.0.3\npaths: {}\n", "x").is_ok());
    }

    #[test]
    fn strip_records_removes_every_record() {
        let mut o = ours();
        o["components"]["schemas"]["State"]["x-contract"] = json!({"differs": ["a"], "why": "b"});
        o["x-contract"] = json!({"differs": ["a"], "why": "b"});
        strip_records(&mut o);
        assert_eq!(o, ours());
    }

    #[test]
    fn the_table_groups_elements_by_keys_and_reason() {
        let mut o = ours();
        let why = json!({"differs": ["format"], "why": "dates | plain"});
        o["components"]["schemas"]["User"]["properties"]["created"]["x-contract"] = why.clone();
        o["components"]["schemas"]["User"]["properties"]["id"]["x-contract"] = why;
        o["paths"]["/users/{id}"]["post"]["x-contract"] =
            json!({"differs": ["status:500"], "why": "kept"});
        let table = contract_table(&[("ours", &o)]).unwrap();
        assert!(
            table.contains("| ours | `User.created`, `User.id` | `format` | dates \\| plain |"),
            "{table}"
        );
        assert!(
            table.contains("| ours | `POST /users/{id}` | `status:500` | kept |"),
            "{table}"
        );
        let readme = format!("intro\n{TABLE_BEGIN}\nold\n{TABLE_END}\nrest\n");
        assert_eq!(
            splice_table(&readme, "new\n").unwrap(),
            format!("intro\n{TABLE_BEGIN}\nnew\n{TABLE_END}\nrest\n")
        );
        assert_eq!(splice_table("no markers", "x"), None);
    }
}
