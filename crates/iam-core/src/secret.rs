//! A string that never prints.

use std::fmt;
use std::str::FromStr;

/// A secret: a token, a password, a client secret, an activation code.
///
/// `Debug` and `Display` print `***` whatever the value, so a secret inside any struct that
/// derives `Debug` (the generated request types included) cannot reach a log or an error message
/// by accident. The value is reachable only through [`SecretString::expose_secret`], and through
/// `Serialize`, which is how it is sent.
///
/// ```
/// use iam_core::SecretString;
///
/// let password = SecretString::from("hunter2");
/// assert_eq!(format!("{password:?} {password}"), "*** ***");
/// assert_eq!(password.expose_secret(), "hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SecretString(String);

/// What a secret prints as.
pub const REDACTED: &str = "***";

impl SecretString {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself. Call this only where the value is sent.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretString {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl From<&str> for SecretString {
    fn from(secret: &str) -> Self {
        Self(secret.to_owned())
    }
}

impl FromStr for SecretString {
    type Err = std::convert::Infallible;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(secret))
    }
}

impl schemars::JsonSchema for SecretString {
    fn schema_name() -> String {
        "SecretString".to_owned()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            format: Some("password".to_owned()),
            ..Default::default()
        }
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value_inside_containers() {
        let secret = SecretString::from("s3cr3t-value");
        let nested = (Some(vec![secret.clone()]), "visible");
        let printed = format!("{secret} {secret:?} {nested:?} {nested:#?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("visible"));
    }

    #[test]
    fn serializes_as_the_plain_string_it_wraps() {
        let secret = SecretString::from("s3cr3t-value");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"s3cr3t-value\"");
        let back: SecretString = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back.expose_secret(), "abc");
    }

    #[test]
    fn json_schema_is_a_password_string() {
        let schema = schemars::schema_for!(SecretString);
        let json = serde_json::to_value(&schema).unwrap();
        assert_eq!(json["type"], "string");
        assert_eq!(json["format"], "password");
    }
}
