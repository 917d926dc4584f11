//! [`Open`]: an enum value from a vendor's answer that may be one the spec does not know yet.
//!
//! Vendors add enum values without notice (a new token type, a new user type). A closed Rust enum
//! would turn such an answer, and so a user that *was* created, into a decoding error. The
//! generator (see `xtask/src/liberal.rs`) therefore types every string enum that appears in an
//! answer as `Open<TheEnum>`: a known value decodes to [`Open::Known`] and stays typed; any other
//! string decodes to [`Open::Unknown`] and is kept as sent, so it re-encodes unchanged. This is
//! the model of aws-sdk-rust's `Unknown(..)` variants, as a wrapper rather than an extra variant
//! because the wrapped enum is generated code we do not edit. Requests keep the closed enum: what
//! we send stays validated.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeOwned, IntoDeserializer};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A known value of `T`, or a string the vendor sent that `T` does not (yet) have.
///
/// ```
/// use iam_core::Open;
/// #[derive(Debug, PartialEq, serde::Deserialize, serde::Serialize)]
/// enum State { #[serde(rename = "ACTIVE")] Active }
///
/// let known: Open<State> = serde_json::from_str(r#""ACTIVE""#).unwrap();
/// assert_eq!(known, Open::Known(State::Active));
/// let new: Open<State> = serde_json::from_str(r#""SUSPENDED""#).unwrap();
/// assert_eq!(new.unknown(), Some("SUSPENDED"));
/// assert_eq!(serde_json::to_string(&new).unwrap(), r#""SUSPENDED""#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Open<T> {
    /// A value the spec documents.
    Known(T),
    /// A value the spec does not document, exactly as the vendor sent it.
    Unknown(String),
}

impl<T> Open<T> {
    /// The typed value, if it is a documented one.
    pub fn known(&self) -> Option<&T> {
        match self {
            Self::Known(value) => Some(value),
            Self::Unknown(_) => None,
        }
    }

    /// The value as sent, if it is not a documented one.
    pub fn unknown(&self) -> Option<&str> {
        match self {
            Self::Known(_) => None,
            Self::Unknown(value) => Some(value),
        }
    }

    /// Whether the value is one the spec does not document.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Self::Unknown(_))
    }
}

impl<T> From<T> for Open<T> {
    fn from(value: T) -> Self {
        Self::Known(value)
    }
}

impl<T: fmt::Display> fmt::Display for Open<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(value) => value.fmt(f),
            Self::Unknown(value) => f.write_str(value),
        }
    }
}

impl<T: Serialize> Serialize for Open<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Known(value) => value.serialize(serializer),
            Self::Unknown(value) => serializer.serialize_str(value),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Open<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Every vendor enum is a string enum: anything but a string is still an error.
        let text = String::deserialize(deserializer)?;
        let as_known: Result<T, serde::de::value::Error> =
            T::deserialize(text.as_str().into_deserializer());
        Ok(match as_known {
            Ok(value) => Self::Known(value),
            Err(_) => Self::Unknown(text),
        })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Open<T> {
    fn schema_name() -> String {
        format!("Open_{}", T::schema_name())
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Owned(format!("iam_core::Open<{}>", T::schema_id()))
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        use schemars::schema::{InstanceType, Metadata, SchemaObject, SubschemaValidation};
        let any_string = SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            ..Default::default()
        };
        SchemaObject {
            metadata: Some(Box::new(Metadata {
                description: Some(
                    "A documented value, or any other string the vendor may add later.".to_owned(),
                ),
                ..Default::default()
            })),
            subschemas: Some(Box::new(SubschemaValidation {
                any_of: Some(vec![generator.subschema_for::<T>(), any_string.into()]),
                ..Default::default()
            })),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
    enum Kind {
        #[serde(rename = "CUSTOM")]
        Custom,
        #[serde(rename = "USERID")]
        UserId,
    }

    #[test]
    fn decodes_known_and_unknown_values_and_re_encodes_both_unchanged() {
        // (wire value, expected)
        let table: &[(&str, Open<Kind>)] = &[
            ("CUSTOM", Open::Known(Kind::Custom)),
            ("USERID", Open::Known(Kind::UserId)),
            ("DERIVED", Open::Unknown("DERIVED".into())),
            ("custom", Open::Unknown("custom".into())), // case matters, as on the wire
            ("", Open::Unknown(String::new())),
        ];
        for (wire, expected) in table {
            let json = serde_json::to_string(wire).unwrap();
            let decoded: Open<Kind> = serde_json::from_str(&json).unwrap();
            assert_eq!(&decoded, expected, "{wire}");
            assert_eq!(serde_json::to_string(&decoded).unwrap(), json, "{wire}");
        }
    }

    #[test]
    fn a_non_string_is_still_an_error() {
        for bad in ["1", "true", "{}", "[]"] {
            assert!(serde_json::from_str::<Open<Kind>>(bad).is_err(), "{bad}");
        }
        // null is the business of the Option around it.
        let none: Option<Open<Kind>> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
    }

    #[test]
    fn accessors() {
        let known = Open::from(Kind::Custom);
        assert_eq!(known.known(), Some(&Kind::Custom));
        assert!(!known.is_unknown() && known.unknown().is_none());
        let unknown: Open<Kind> = Open::Unknown("NEW".into());
        assert!(unknown.is_unknown() && unknown.known().is_none());
    }
}
