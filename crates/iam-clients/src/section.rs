//! The vendor sections of a [`NewUser`]: each vendor's own create-request properties, named and
//! shaped as its spec names them, merged with what the common fields give and checked against the
//! generated request type before anything is sent.
//!
//! Why JSON maps and not the generated types: a [`NewUser`] travels through JSONL rows, CSV
//! columns and `--set` flags, and a program that creates users on one vendor should not need the
//! other vendors' crates. The check is still the generated type's, and so as strict as it is: the
//! merged request is decoded into it (closed enums, formats, patterns, required properties), then
//! encoded again, and any property the decode would have dropped is refused as unknown. Which
//! properties exist, which take text, and which hold secrets all come from the generated type's
//! JSON Schema (`schemars`), so a spec change moves all of this with it; nothing here lists a
//! vendor's properties by hand.
//!
//! The one table per provider that *is* written here says which common field feeds which vendor
//! property ([`Mapped`]): it decides what is sent for the common fields and what counts as
//! setting a property twice.

use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::user::is_secret_attribute;
use crate::{Error, NewUser, ProviderKind};

/// One vendor section: the vendor's own create-request properties, by the name its spec gives
/// them (`externalId`, `userAliases`, `authorizedCustomers`, ...), each with its value as JSON.
pub type VendorSection = Map<String, Value>;

/// A vendor, as its section of a [`NewUser`] names it: `entrust`, `mid` (both URL flavours) or
/// `nexway`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Vendor {
    /// Entrust IDaaS: the properties of `UserParms`.
    Entrust,
    /// mID Provider, SSMS and SHIFT: the properties of `UserRepresentation`.
    Mid,
    /// Nexway IAM: the properties of `UserCreate`.
    Nexway,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 3] = [Vendor::Entrust, Vendor::Mid, Vendor::Nexway];

    /// The section's name: `entrust`, `mid` or `nexway`.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Entrust => "entrust",
            Vendor::Mid => "mid",
            Vendor::Nexway => "nexway",
        }
    }

    /// The vendor named `name` (`entrust`, `mid`, `nexway`).
    pub fn from_name(name: &str) -> Option<Vendor> {
        Self::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The vendor a provider belongs to (both mID flavours are `mid`).
    pub fn of(kind: ProviderKind) -> Vendor {
        match kind {
            ProviderKind::Entrust => Vendor::Entrust,
            ProviderKind::MidSsms | ProviderKind::MidShift => Vendor::Mid,
            ProviderKind::Nexway => Vendor::Nexway,
        }
    }

    /// The vendor's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Vendor::Entrust => "Entrust",
            Vendor::Mid => "mID Provider",
            Vendor::Nexway => "Nexway",
        }
    }

    /// The generated request type the section's properties belong to.
    pub fn request_type(self) -> &'static str {
        match self {
            Vendor::Entrust => "UserParms",
            Vendor::Mid => "UserRepresentation",
            Vendor::Nexway => "UserCreate",
        }
    }

    /// The JSON Schema of the generated create request (draft 7, with `definitions`), or `None`
    /// when this crate was built without the vendor's feature.
    pub fn request_schema(self) -> Option<&'static Value> {
        static SCHEMAS: [OnceLock<Option<Value>>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        SCHEMAS[self as usize]
            .get_or_init(|| request_schema_of(self))
            .as_ref()
    }

    /// The names of the properties the vendor's create call takes, as its spec spells them.
    pub fn properties(self) -> Vec<&'static str> {
        self.request_schema()
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether the create call has a property `name`.
    pub fn has_property(self, name: &str) -> bool {
        self.property_schema(name).is_some()
    }

    fn property_schema(self, name: &str) -> Option<&'static Value> {
        self.request_schema()?.get("properties")?.get(name)
    }

    /// Whether property `name` takes a string (so text from a CSV cell or `--set NAME=VALUE` is
    /// its value as is); `None` for a property the vendor does not have. Any other property is
    /// written as JSON.
    pub fn takes_text(self, name: &str) -> Option<bool> {
        let root = self.request_schema()?;
        let schema = self.property_schema(name)?;
        Some(admits_string(root, schema))
    }

    /// The value of property `name` from text: the text itself for a property that takes a
    /// string, else the text read as JSON. The error names the property and says why.
    ///
    /// ```
    /// use iam_clients::Vendor;
    /// use serde_json::json;
    /// assert_eq!(Vendor::Entrust.value_from_text("externalId", "hr-42"), Ok(json!("hr-42")));
    /// assert_eq!(Vendor::Entrust.value_from_text("lock", "true"), Ok(json!(true)));
    /// assert!(Vendor::Entrust.value_from_text("lock", "maybe").is_err());
    /// assert!(Vendor::Entrust.value_from_text("colour", "red").is_err());
    /// ```
    pub fn value_from_text(self, name: &str, text: &str) -> Result<Value, String> {
        match self.takes_text(name) {
            None => Err(self.unknown_property(name)),
            Some(true) => Ok(Value::String(text.to_owned())),
            Some(false) => serde_json::from_str(text).map_err(|e| {
                format!(
                    "`{}.{name}` is not a string property, so its value is JSON, and this is not JSON: {e}",
                    self.name()
                )
            }),
        }
    }

    /// Why `name` is refused: the vendor has no such property (and the ones it has).
    pub fn unknown_property(self, name: &str) -> String {
        if self.request_schema().is_none() {
            return format!(
                "`{}.{name}`: this build of iam-clients has no `{}` feature, so it knows no {} property",
                self.name(),
                self.name(),
                self.title()
            );
        }
        format!(
            "`{}.{name}`: {}'s create request ({}) has no property `{name}`; it has {}",
            self.name(),
            self.title(),
            self.request_type(),
            self.properties().join(", ")
        )
    }

    /// Whether `value`, as property `name`, holds a secret (a `format: password` string of the
    /// spec, e.g. mID's credential values or Nexway's password, or a free-form attribute whose
    /// name says secret). Secrets may come from files, never from a command line.
    ///
    /// ```
    /// use iam_clients::Vendor;
    /// use serde_json::json;
    /// assert!(Vendor::Nexway.holds_secret("password", &json!("s3cret")));
    /// assert!(Vendor::Mid.holds_secret("credentials", &json!([{"value": "s3cret"}])));
    /// assert!(!Vendor::Mid.holds_secret("credentials", &json!([{"temporary": false}])));
    /// assert!(!Vendor::Entrust.holds_secret("externalId", &json!("hr-42")));
    /// ```
    pub fn holds_secret(self, name: &str, value: &Value) -> bool {
        let mut section = VendorSection::new();
        section.insert(name.to_owned(), value.clone());
        !self.secret_values(&section).is_empty()
    }

    /// The section with every secret replaced by `"***"`. Without the vendor's feature, whose
    /// schema says which values are secrets, every value is replaced.
    pub fn redacted(self, section: &VendorSection) -> VendorSection {
        self.replace_secrets(section, "***")
    }

    /// The section without its secrets (removed, not replaced): what may be hashed or written.
    pub fn without_secrets(self, section: &VendorSection) -> VendorSection {
        strip_marked(self.replace_secrets(section, MARK))
    }

    fn replace_secrets(self, section: &VendorSection, with: &str) -> VendorSection {
        let mut value = Value::Object(section.clone());
        match self.request_schema() {
            Some(root) => visit_secrets(root, root, &mut value, &mut |v| {
                *v = Value::String(with.to_owned());
            }),
            None => {
                if let Value::Object(map) = &mut value {
                    map.values_mut()
                        .for_each(|v| *v = Value::String(with.to_owned()));
                }
            }
        }
        match value {
            Value::Object(map) => map,
            _ => unreachable!("an object stays an object"),
        }
    }

    /// The secrets in the section, as text, for redacting answers and error messages.
    pub fn secret_values(self, section: &VendorSection) -> Vec<String> {
        let Some(root) = self.request_schema() else {
            return section.values().map(text_of).collect();
        };
        let mut value = Value::Object(section.clone());
        let mut found = Vec::new();
        visit_secrets(root, root, &mut value, &mut |v| {
            if !v.is_null() {
                found.push(text_of(v));
            }
        });
        found.retain(|s| !s.is_empty());
        found
    }

    /// The JSON Schema of this vendor's section in a [`NewUser`], standalone (its
    /// `definitions` inside): the generated request type's schema, with every property optional
    /// (a required one may come from a common field) and no other property allowed.
    pub fn section_schema(self) -> Value {
        let (mut schema, definitions) = self.section_schema_parts();
        if !definitions.is_empty() {
            schema["definitions"] = Value::Object(definitions);
        }
        schema
    }

    /// The section's schema and its definitions, whose names (and the `$ref`s to them) carry
    /// the vendor's name (`EntrustLocale`), so that the three sections' definitions can share
    /// one document.
    fn section_schema_parts(self) -> (Value, Map<String, Value>) {
        let Some(root) = self.request_schema() else {
            let schema = serde_json::json!({
                "type": "object",
                "description": format!("{}'s own create-request properties (this build has no `{}` feature).", self.title(), self.name()),
            });
            return (schema, Map::new());
        };
        let prefix = match self {
            Vendor::Entrust => "Entrust",
            Vendor::Mid => "Mid",
            Vendor::Nexway => "Nexway",
        };
        let mut schema = root.clone();
        rename_refs(&mut schema, prefix);
        let object = schema
            .as_object_mut()
            .expect("a request schema is an object");
        let definitions = match object.remove("definitions") {
            Some(Value::Object(definitions)) => definitions
                .into_iter()
                .map(|(name, value)| (format!("{prefix}{name}"), value))
                .collect(),
            _ => Map::new(),
        };
        object.remove("$schema");
        object.remove("required");
        object.remove("title");
        object.insert("additionalProperties".to_owned(), Value::Bool(false));
        object.insert(
            "description".to_owned(),
            Value::String(format!(
                "{}'s own create-request properties ({}), named as its spec names them; each is optional here, and none may also be set by a common field.",
                self.title(),
                self.request_type()
            )),
        );
        (schema, definitions)
    }
}

/// The schema of a vendor's section inside a [`NewUser`]'s schema: its definitions join the
/// generator's.
pub(crate) fn json_schema(
    vendor: Vendor,
    generator: &mut schemars::r#gen::SchemaGenerator,
) -> schemars::schema::Schema {
    let (schema, definitions) = vendor.section_schema_parts();
    for (name, definition) in definitions {
        if let Ok(definition) = serde_json::from_value(definition) {
            generator.definitions_mut().insert(name, definition);
        }
    }
    serde_json::from_value(schema).unwrap_or(schemars::schema::Schema::Bool(true))
}

/// `#/definitions/Name` -> `#/definitions/{prefix}Name`, everywhere in `schema`.
fn rename_refs(schema: &mut Value, prefix: &str) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                match value {
                    Value::String(reference) if key == "$ref" => {
                        if let Some(name) = reference.strip_prefix("#/definitions/") {
                            *reference = format!("#/definitions/{prefix}{name}");
                        }
                    }
                    other => rename_refs(other, prefix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_refs(v, prefix)),
        _ => {}
    }
}

fn request_schema_of(vendor: Vendor) -> Option<Value> {
    let schema = match vendor {
        #[cfg(feature = "entrust")]
        Vendor::Entrust => schemars::schema_for!(entrust_idaas::types::UserParms),
        #[cfg(feature = "mid")]
        Vendor::Mid => schemars::schema_for!(mid_provider::types::UserRepresentation),
        #[cfg(feature = "nexway")]
        Vendor::Nexway => schemars::schema_for!(nexway_iam::types::UserCreate),
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    Some(serde_json::to_value(schema).expect("a JSON Schema serializes"))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `schema` with its `$ref` followed (schemars writes `#/definitions/Name`).
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(target) = reference
            .strip_prefix("#/definitions/")
            .and_then(|name| root.get("definitions")?.get(name))
        else {
            break;
        };
        schema = target;
    }
    schema
}

/// The schemas `schema` combines (`allOf`, `anyOf`, `oneOf`), resolved.
fn alternatives<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(root, schema);
    let mut out = vec![schema];
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            for s in list {
                out.extend(alternatives(root, s));
            }
        }
    }
    out
}

fn admits_string(root: &Value, schema: &Value) -> bool {
    alternatives(root, schema)
        .into_iter()
        .any(|s| match s.get("type") {
            Some(Value::String(t)) => t == "string",
            Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
            _ => false,
        })
}

/// Calls `mark` on every value inside `value` that `schema` says is a secret: a `format:
/// password` string, or a property of a free-form map whose name says secret.
fn visit_secrets(
    root: &Value,
    schema: &Value,
    value: &mut Value,
    mark: &mut dyn FnMut(&mut Value),
) {
    let schemas = alternatives(root, schema);
    if schemas
        .iter()
        .any(|s| s.get("format").and_then(Value::as_str) == Some("password"))
    {
        mark(value);
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let declared = schemas
                    .iter()
                    .find_map(|s| s.get("properties").and_then(|p| p.get(key.as_str())));
                if let Some(property) = declared {
                    visit_secrets(root, property, item, mark);
                    continue;
                }
                match schemas.iter().find_map(|s| s.get("additionalProperties")) {
                    Some(extra) if extra.is_object() && extra.get("type").is_some() => {
                        visit_secrets(root, extra, item, mark);
                    }
                    // A free-form map (mID's custom attributes): the name decides.
                    _ if is_secret_attribute(key) => mark(item),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schemas.iter().find_map(|s| s.get("items")) {
                for item in items {
                    visit_secrets(root, item_schema, item, mark);
                }
            }
        }
        _ => {}
    }
}

const MARK: &str = "\u{0}iam-clients-secret\u{0}";

/// Removes the values marked with [`MARK`].
fn strip_marked(section: VendorSection) -> VendorSection {
    fn strip(value: Value) -> Option<Value> {
        match value {
            Value::String(s) if s == MARK => None,
            Value::Object(map) => Some(Value::Object(
                map.into_iter()
                    .filter_map(|(k, v)| strip(v).map(|v| (k, v)))
                    .collect(),
            )),
            Value::Array(items) => {
                Some(Value::Array(items.into_iter().filter_map(strip).collect()))
            }
            other => Some(other),
        }
    }
    section
        .into_iter()
        .filter_map(|(k, v)| strip(v).map(|v| (k, v)))
        .collect()
}

/// One common field's part of a request: the [`NewUser`] field, the vendor property it sets, and
/// the value, when the field is given.
pub(crate) struct Mapped {
    /// The `NewUser` field, as a user writes it (`username`, `enabled`, ...).
    pub(crate) field: &'static str,
    /// The vendor's property it sets (`userId`, `state`, ...).
    pub(crate) property: &'static str,
    /// Its value; `None` when the field is not given.
    pub(crate) value: Option<Value>,
}

impl Mapped {
    pub(crate) fn new(field: &'static str, property: &'static str, value: Option<Value>) -> Self {
        Self {
            field,
            property,
            value,
        }
    }

    /// A list field: given when it is not empty.
    pub(crate) fn list(field: &'static str, property: &'static str, value: &[String]) -> Self {
        Self::new(
            field,
            property,
            (!value.is_empty()).then(|| Value::from(value.to_vec())),
        )
    }

    /// A text field: given when it holds non-blank text.
    pub(crate) fn text(
        field: &'static str,
        property: &'static str,
        value: &Option<String>,
    ) -> Self {
        Self::new(field, property, crate::user::given(value).map(Value::from))
    }
}

/// The request for `user` on `kind`: the common fields (`common`, already checked by the
/// provider's rules) and the user's section for the vendor, decoded into the generated type `T`.
/// Refused, naming the field as the user wrote it: a section for another vendor, a property the
/// vendor does not have, one also set by a common field, a value the generated type refuses, a
/// required property missing.
pub(crate) fn request<T: DeserializeOwned + Serialize>(
    kind: ProviderKind,
    user: &NewUser,
    common: &[Mapped],
) -> Result<T, Error> {
    let vendor = Vendor::of(kind);
    for other in Vendor::ALL {
        if other != vendor && !user.section(other).is_empty() {
            return Err(Error::unsupported(
                kind,
                other.name(),
                &format!(
                    "`{}` holds {}'s own properties, and this user goes to {} ({kind}): put them in `{}`, or send the user to {}",
                    other.name(),
                    other.title(),
                    vendor.title(),
                    vendor.name(),
                    other.title()
                ),
            ));
        }
    }
    let section = user.section(vendor);
    let mut merged = Map::new();
    for mapped in common {
        if let Some(value) = &mapped.value {
            merged.insert(mapped.property.to_owned(), value.clone());
        }
    }
    for (name, value) in section {
        let field = format!("{}.{name}", vendor.name());
        if !vendor.has_property(name) {
            return Err(Error::invalid(kind, &field, vendor.unknown_property(name)));
        }
        if value.is_null() {
            continue; // `null` in a section means not set
        }
        if let Some(twice) = common
            .iter()
            .find(|m| m.property == name && m.value.is_some())
        {
            return Err(Error::invalid(
                kind,
                &field,
                format!(
                    "`{field}` and the common field `{}` both set {}'s `{name}`: set it once",
                    twice.field,
                    vendor.title()
                ),
            ));
        }
        merged.insert(name.clone(), value.clone());
    }
    let mut secrets = user.secrets();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let redact = |text: String| {
        secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret.as_str(), "***"))
    };
    let merged = Value::Object(merged);
    let typed: T = serde_path_to_error::deserialize(&merged).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        if let Some(property) = missing_field(&message) {
            let by = common.iter().find(|m| m.property == property);
            return match by {
                Some(m) => Error::invalid(
                    kind,
                    m.field,
                    format!(
                        "`{}` is required by {kind} (or set `{}.{property}`)",
                        m.field,
                        vendor.name()
                    ),
                ),
                None => {
                    let field = written_as(vendor, common, &join(&path, property));
                    Error::invalid(kind, &field, format!("`{field}` is required by {kind}"))
                }
            };
        }
        let field = written_as(vendor, common, &path);
        Error::invalid(kind, &field, redact(format!("`{field}`: {message}")))
    })?;
    let back = serde_json::to_value(&typed).expect("a generated request serializes");
    if let Some(path) = dropped(&merged, &back, String::new()) {
        let field = written_as(vendor, common, &path);
        return Err(Error::invalid(
            kind,
            &field,
            format!(
                "`{field}`: {}'s create request has no such property (see `iam schema`)",
                vendor.title()
            ),
        ));
    }
    Ok(typed)
}

/// `missing field `x`` -> `x`.
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

fn join(path: &str, property: &str) -> String {
    if path.is_empty() || path == "." {
        property.to_owned()
    } else {
        format!("{path}.{property}")
    }
}

/// A path into the request as the user wrote it: under the common field that set its first
/// property (`groups[0]`), else under the vendor's section (`entrust.userAliases[0].type`).
fn written_as(vendor: Vendor, common: &[Mapped], path: &str) -> String {
    let path = path.trim_start_matches('.');
    let first = path.split(['.', '[']).next().unwrap_or_default();
    match common
        .iter()
        .find(|m| m.property == first && m.value.is_some())
    {
        Some(m) => format!("{}{}", m.field, &path[first.len()..]),
        None if path.is_empty() => vendor.name().to_owned(),
        None => format!("{}.{path}", vendor.name()),
    }
}

/// The first place in `sent` (the user's request) that `kept` (the generated type's encoding of
/// it) does not have: a property the generated type ignored. An empty list or map and `null` may
/// be left out, as the generated types do.
fn dropped(sent: &Value, kept: &Value, at: String) -> Option<String> {
    match (sent, kept) {
        (Value::Object(sent), Value::Object(kept)) => sent.iter().find_map(|(key, value)| {
            let here = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            match kept.get(key) {
                Some(k) => dropped(value, k, here),
                None if is_empty(value) => None,
                None => Some(here),
            }
        }),
        (Value::Array(sent), Value::Array(kept)) => sent
            .iter()
            .zip(kept)
            .enumerate()
            .find_map(|(i, (s, k))| dropped(s, k, format!("{at}[{i}]"))),
        _ => None,
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(all(test, feature = "entrust", feature = "mid", feature = "nexway"))]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::{Connection, EntrustClient, ErrorKind, MidClient, NexwayClient};

    const GROUP: &str = "7d3a8f0e-5b1c-4e2a-9f6d-0c4b8a2e1f33";

    fn row(json: Value) -> NewUser {
        serde_json::from_value(json).expect("a NewUser")
    }

    /// The request for `user` on `kind`, as JSON, or the refused field, kind and message.
    fn outcome(kind: ProviderKind, user: &NewUser) -> Result<Value, (String, ErrorKind, String)> {
        let connection = || Connection::new("http://127.0.0.1:9").bearer("t");
        let sent = match kind {
            ProviderKind::Entrust => EntrustClient::new(connection())
                .unwrap()
                .request_for(user)
                .map(|r| serde_json::to_value(r).unwrap()),
            ProviderKind::MidSsms | ProviderKind::MidShift => MidClient::ssms(connection())
                .unwrap()
                .request_for(user)
                .map(|r| serde_json::to_value(r).unwrap()),
            ProviderKind::Nexway => NexwayClient::new(connection())
                .unwrap()
                .request_for(user)
                .map(|r| serde_json::to_value(r).unwrap()),
        };
        sent.map_err(|e| {
            (
                e.field().unwrap_or_default().to_owned(),
                e.kind(),
                e.to_string(),
            )
        })
    }

    #[test]
    fn sections_reach_the_request_or_are_refused_naming_the_field() {
        use ErrorKind::{InvalidInput, UnsupportedField};
        use ProviderKind::{Entrust, MidSsms, Nexway};
        let nexway_base = json!({"email": "a@example.com", "first_name": "A", "last_name": "B", "password": "pw-1"});
        let with = |base: &Value, extra: Value| {
            let mut base = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                base[k] = v.clone();
            }
            base
        };
        // (provider, row, Ok(a property of the request and its value) or Err(field, kind, in the message))
        type Case = (
            ProviderKind,
            Value,
            Result<(&'static str, Value), (&'static str, ErrorKind, &'static str)>,
        );
        let cases: Vec<Case> = vec![
            (
                Entrust,
                json!({"username": "j", "entrust": {"externalId": "hr-42"}}),
                Ok(("externalId", json!("hr-42"))),
            ),
            (
                Entrust,
                json!({"entrust": {"userId": "j"}}),
                Ok(("userId", json!("j"))),
            ),
            (
                Entrust,
                json!({"username": "j", "groups": [GROUP]}),
                Ok(("groups", json!([GROUP]))),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"userAliases": [{"value": "johnny", "type": "CUSTOM"}]}}),
                Ok((
                    "userAliases",
                    json!([{"value": "johnny", "type": "CUSTOM"}]),
                )),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"externalId": null}}),
                Ok(("userId", json!("j"))),
            ),
            (
                Entrust,
                json!({}),
                Err((
                    "username",
                    InvalidInput,
                    "`username` is required by entrust (or set `entrust.userId`)",
                )),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"colour": "red"}}),
                Err(("entrust.colour", InvalidInput, "has no property `colour`")),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"lock": "yes"}}),
                Err(("entrust.lock", InvalidInput, "expected a boolean")),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"locale": "xx"}}),
                Err(("entrust.locale", InvalidInput, "unknown variant `xx`")),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"userAliases": [{"value": "j2", "type": "NOPE"}]}}),
                Err((
                    "entrust.userAliases[0].type",
                    InvalidInput,
                    "unknown variant `NOPE`",
                )),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"userAliases": [{"value": "j2", "colour": "red"}]}}),
                Err((
                    "entrust.userAliases[0].colour",
                    InvalidInput,
                    "has no such property",
                )),
            ),
            (
                Entrust,
                json!({"username": "j", "email": "j@example.com", "entrust": {"email": "k@example.com"}}),
                Err(("entrust.email", InvalidInput, "both set Entrust's `email`")),
            ),
            (
                Entrust,
                json!({"username": "j", "enabled": true, "entrust": {"state": "INACTIVE"}}),
                Err(("entrust.state", InvalidInput, "common field `enabled`")),
            ),
            (
                Entrust,
                json!({"username": "j", "groups": ["admins"]}),
                Err(("groups[0]", InvalidInput, "UUID")),
            ),
            (
                Entrust,
                json!({"username": "j", "entrust": {"groups": ["admins"]}}),
                Err(("entrust.groups[0]", InvalidInput, "UUID")),
            ),
            (
                Entrust,
                json!({"username": "j", "nexway": {"authorizedCustomers": []}}),
                Err(("nexway", UnsupportedField, "goes to Entrust")),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "mid": {"requiredActions": ["UPDATE_PASSWORD"]}}),
                Ok(("requiredActions", json!(["UPDATE_PASSWORD"]))),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "mid": {"clientRoles": {"app": ["r1"]}}}),
                Ok(("clientRoles", json!({"app": ["r1"]}))),
            ),
            (
                MidSsms,
                json!({"mid": {"username": "ngk"}}),
                Ok(("username", json!("ngk"))),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "mid": {"username": "other"}}),
                Err(("mid.username", InvalidInput, "common field `username`")),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "password": "pw", "mid": {"credentials": []}}),
                Err(("mid.credentials", InvalidInput, "common field `password`")),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "groups": ["g"], "mid": {"attributes": {}}}),
                Err(("mid.attributes", InvalidInput, "common field `groups`")),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "mid": {"credentials": [{"type": "otp"}]}}),
                Err((
                    "mid.credentials[0].type",
                    InvalidInput,
                    "unknown variant `otp`",
                )),
            ),
            (
                MidSsms,
                json!({"mid": {"username": "bad name"}}),
                Err(("mid.username", InvalidInput, "mid.username")),
            ),
            (
                MidSsms,
                json!({"username": "ngk", "entrust": {"externalId": "x"}}),
                Err(("entrust", UnsupportedField, "goes to mID Provider")),
            ),
            (
                Nexway,
                with(
                    &nexway_base,
                    json!({"nexway": {"authorizedCustomers": [{"customerId": "c1", "name": "C"}]}}),
                ),
                Ok((
                    "authorizedCustomers",
                    json!([{"customerId": "c1", "name": "C"}]),
                )),
            ),
            (
                Nexway,
                json!({"email": "a@example.com", "first_name": "A", "last_name": "B", "nexway": {"password": "pw-2"}}),
                Ok(("password", json!("pw-2"))),
            ),
            (
                Nexway,
                json!({"first_name": "A", "last_name": "B", "password": "pw"}),
                Err(("email", InvalidInput, "`email` is required by nexway")),
            ),
            (
                Nexway,
                with(&nexway_base, json!({"nexway": {"status": "PAUSED"}})),
                Err(("nexway.status", InvalidInput, "unknown variant `PAUSED`")),
            ),
            (
                Nexway,
                with(
                    &nexway_base,
                    json!({"roles": ["r"], "nexway": {"roles": []}}),
                ),
                Err(("nexway.roles", InvalidInput, "common field `roles`")),
            ),
            (
                Nexway,
                with(
                    &nexway_base,
                    json!({"nexway": {"roles": [{"name": "r", "weight": 3}]}}),
                ),
                Err((
                    "nexway.roles[0].weight",
                    InvalidInput,
                    "has no such property",
                )),
            ),
        ];
        for (kind, json, expected) in cases {
            let user = row(json.clone());
            let got = outcome(kind, &user);
            match (&got, &expected) {
                (Ok(sent), Ok((property, value))) => {
                    assert_eq!(&sent[property], value, "{kind} {json}: {sent}");
                }
                (Err((field, got_kind, message)), Err((want_field, want_kind, part))) => {
                    assert_eq!(
                        (field.as_str(), got_kind),
                        (*want_field, want_kind),
                        "{kind} {json}: {message}"
                    );
                    assert!(
                        message.contains(part),
                        "{kind} {json}: `{message}` lacks `{part}`"
                    );
                }
                _ => panic!("{kind} {json}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn secrets_in_sections_are_never_shown() {
        let user = row(json!({"username": "ngk", "mid": {
            "credentials": [{"value": "pa55-w0rd", "temporary": false}],
            "attributes": {"digitaniumActivationCode": "10101010", "myToken": "t0k3n-x"}}}));
        let printed = format!("{user:?}");
        for secret in ["pa55-w0rd", "10101010", "t0k3n-x"] {
            assert!(!printed.contains(secret), "{printed}");
        }
        let kept = serde_json::to_string(&user.without_secrets()).unwrap();
        assert!(
            kept.contains("temporary")
                && !kept.contains("pa55")
                && !kept.contains("1010")
                && !kept.contains("t0k3n"),
            "{kept}"
        );
        let mut secrets = user.secrets();
        secrets.sort();
        assert_eq!(secrets, ["10101010", "pa55-w0rd", "t0k3n-x"]);
        // A mistyped secret is not echoed by the refusal.
        let bad = row(json!({"username": "ngk", "mid": {"credentials": [{"value": 31337}]}}));
        let (field, _, message) = outcome(ProviderKind::MidSsms, &bad).unwrap_err();
        assert_eq!(field, "mid.credentials[0].value");
        assert!(!message.contains("31337"), "{message}");
    }

    #[test]
    fn text_values_follow_the_property_type() {
        assert_eq!(Vendor::Entrust.takes_text("externalId"), Some(true));
        assert_eq!(Vendor::Entrust.takes_text("state"), Some(true));
        assert_eq!(Vendor::Entrust.takes_text("groups"), Some(false));
        assert_eq!(Vendor::Mid.takes_text("enabled"), Some(false));
        assert_eq!(Vendor::Nexway.takes_text("password"), Some(true));
        assert_eq!(Vendor::Nexway.takes_text("colour"), None);
        assert_eq!(
            Vendor::Entrust.value_from_text("userAliases", r#"[{"value":"j"}]"#),
            Ok(json!([{"value": "j"}]))
        );
    }

    #[test]
    fn the_section_schemas_have_every_property_and_refs_that_resolve() {
        for vendor in Vendor::ALL {
            let schema = vendor.section_schema();
            assert_eq!(schema["additionalProperties"], false);
            assert!(schema.get("required").is_none());
            let properties = schema["properties"].as_object().unwrap();
            assert_eq!(properties.len(), vendor.properties().len());
            let text = schema.to_string();
            for reference in text.split("\"$ref\":\"#/definitions/").skip(1) {
                let name = reference.split('"').next().unwrap();
                assert!(
                    schema["definitions"].get(name).is_some(),
                    "{vendor:?}: {name}"
                );
            }
        }
        assert_eq!(Vendor::Entrust.properties().len(), 25);
        assert_eq!(Vendor::Mid.properties().len(), 10);
        assert_eq!(Vendor::Nexway.properties().len(), 9);
    }
}
