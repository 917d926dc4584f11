//! The provider-neutral user: what to create ([`NewUser`]) and what was created ([`CreatedUser`]).

use std::collections::BTreeMap;
use std::fmt;

use iam_core::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::section::{Vendor, VendorSection};
use crate::{Error, ProviderKind};

/// A user to create: the fields every provider understands, and a section per vendor for
/// everything else its create call takes. Build it with [`NewUser::builder`] or as a struct; in
/// JSON (one JSONL row of `iam import`) the field names are the same.
///
/// Which provider takes which common field (a field a provider cannot take is refused, naming
/// it, before anything is sent):
///
/// | field | Entrust (`UserParms`) | mID Provider (`UserRepresentation`) | Nexway (`UserCreate`) |
/// |---|---|---|---|
/// | `username` | `userId` (required) | `username` (required; letters, digits, `$@(.)-*_[]~!&+`) | `userName` |
/// | `email` | `email` | `email` | `email` (required) |
/// | `first_name`, `last_name` | `firstName`, `lastName` | `firstName`, `lastName` | `firstName`, `lastName` (required) |
/// | `phone`, `mobile` | `phone`, `mobile` | no | no |
/// | `password` | no (activation by token or temporary access code) | `credentials`: one temporary password | `password` (required) |
/// | `enabled` | `state` `ACTIVE`/`INACTIVE` | `enabled` (default false) | `status` `ENABLED`/`DISABLED` |
/// | `roles` | no (OAuth roles go by UUID: `entrust.oauthRoles`) | `realmRoles` | `roles[].name` |
/// | `groups` | `groups` (group UUIDs) | the `groups` attribute | no |
/// | `attributes` | no (by attribute UUID: `entrust.userAttributeValues`) | `attributes` (e.g. `digitaniumUserIdOnboardingType`) | no |
///
/// **Vendor sections.** `entrust`, `mid` (both URL flavours) and `nexway` hold the vendor's own
/// create-request properties, named and shaped as its spec names them (`iam schema` lists them
/// all): every writable property of each create call is reachable from here. Before anything is
/// sent the common fields and the section are merged and decoded into the generated request
/// type, as strictly as it decodes (closed enums, UUIDs, the mID username pattern); refused,
/// naming the field as written (`entrust.userAliases[0].type`): a property the vendor does not
/// have, a wrong type, a section for another vendor than the target, and a property a common
/// field also sets (`email` and `entrust.email`). `null` in a section means not set. Secrets in a
/// section (mID's credential values and activation code, Nexway's password: `format: password`
/// in the specs) are redacted like the password.
///
/// ```
/// use iam_clients::NewUser;
/// use serde_json::json;
///
/// // Entrust: the link back to the HR record, an alias, a group by its UUID.
/// let john = NewUser::builder()
///     .username("john")
///     .group("7d3a8f0e-5b1c-4e2a-9f6d-0c4b8a2e1f33")
///     .entrust("externalId", "hr-42")
///     .entrust("userAliases", json!([{"value": "johnny", "type": "CUSTOM"}]))
///     .build();
/// // mID: client roles and required actions.
/// let ngk = NewUser::builder()
///     .username("ngk")
///     .mid("clientRoles", json!({"crm": ["agent"]}))
///     .mid("requiredActions", json!(["UPDATE_PASSWORD"]))
///     .build();
/// // Nexway: authorized customers.
/// let ada = NewUser::builder()
///     .email("ada@example.com")
///     .nexway("authorizedCustomers", json!([{"customerId": "c-1", "name": "Acme"}]))
///     .build();
/// // The same as a JSONL row of `iam import`:
/// let row: NewUser = serde_json::from_str(
///     r#"{"username": "john", "entrust": {"externalId": "hr-42", "userAliases": [{"value": "johnny", "type": "CUSTOM"}]}}"#,
/// ).unwrap();
/// assert_eq!(row.entrust, john.entrust);
/// # let _ = (ngk, ada);
/// ```
///
/// The provider clients' `create_user_with`, which adjusts the generated request before it is
/// sent, stays as an escape hatch; nothing needs it.
///
/// `Debug` prints `***` for the password, for attributes whose name holds `password`,
/// `secret`, `code` or `token` (e.g. `digitaniumActivationCode`), and for the secrets in the
/// vendor sections.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The name the user signs in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Email address; must contain `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Mobile phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    /// Initial password. Never printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretString>,
    /// Whether the user can sign in; `None` leaves the provider's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Role names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// Group names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// Provider attributes, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
    /// Entrust's own create-request properties (`UserParms`), by the spec's names, e.g.
    /// `externalId`, `userAliases`, `locale`. Only for a user sent to Entrust.
    #[serde(default, skip_serializing_if = "VendorSection::is_empty")]
    #[schemars(schema_with = "entrust_section_schema")]
    pub entrust: VendorSection,
    /// mID Provider's own create-request properties (`UserRepresentation`), e.g.
    /// `requiredActions`, `clientRoles`. Only for a user sent to mID (SSMS or SHIFT).
    #[serde(default, skip_serializing_if = "VendorSection::is_empty")]
    #[schemars(schema_with = "mid_section_schema")]
    pub mid: VendorSection,
    /// Nexway's own create-request properties (`UserCreate`), e.g. `authorizedCustomers`.
    /// Only for a user sent to Nexway.
    #[serde(default, skip_serializing_if = "VendorSection::is_empty")]
    #[schemars(schema_with = "nexway_section_schema")]
    pub nexway: VendorSection,
}

fn entrust_section_schema(
    generator: &mut schemars::r#gen::SchemaGenerator,
) -> schemars::schema::Schema {
    crate::section::json_schema(Vendor::Entrust, generator)
}

fn mid_section_schema(
    generator: &mut schemars::r#gen::SchemaGenerator,
) -> schemars::schema::Schema {
    crate::section::json_schema(Vendor::Mid, generator)
}

fn nexway_section_schema(
    generator: &mut schemars::r#gen::SchemaGenerator,
) -> schemars::schema::Schema {
    crate::section::json_schema(Vendor::Nexway, generator)
}

/// Whether an attribute's value is a secret by its name (it holds `password`, `secret`, `code`
/// or `token`, e.g. `digitaniumActivationCode`): such values never print.
///
/// ```
/// assert!(iam_clients::is_secret_attribute("digitaniumActivationCode"));
/// assert!(!iam_clients::is_secret_attribute("digitaniumUserIdOnboardingType"));
/// ```
pub fn is_secret_attribute(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["password", "secret", "code", "token"]
        .iter()
        .any(|s| name.contains(s))
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Attributes<'a>(&'a BTreeMap<String, Value>);
        impl fmt::Debug for Attributes<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map()
                    .entries(self.0.iter().map(|(k, v)| {
                        let shown: &dyn fmt::Debug =
                            if is_secret_attribute(k) { &"***" } else { v };
                        (k, shown)
                    }))
                    .finish()
            }
        }
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("email", &self.email)
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .field("phone", &self.phone)
            .field("mobile", &self.mobile)
            .field("password", &self.password)
            .field("enabled", &self.enabled)
            .field("roles", &self.roles)
            .field("groups", &self.groups)
            .field("attributes", &Attributes(&self.attributes))
            .field("entrust", &Vendor::Entrust.redacted(&self.entrust))
            .field("mid", &Vendor::Mid.redacted(&self.mid))
            .field("nexway", &Vendor::Nexway.redacted(&self.nexway))
            .finish()
    }
}

impl NewUser {
    /// Starts a builder.
    ///
    /// ```
    /// let user = iam_clients::NewUser::builder()
    ///     .username("ada")
    ///     .email("ada@example.com")
    ///     .first_name("Ada")
    ///     .last_name("Lovelace")
    ///     .password("correct horse battery staple")
    ///     .enabled(true)
    ///     .role("admin")
    ///     .attribute("digitaniumUserIdOnboardingType", "letter")
    ///     .build();
    /// assert!(!format!("{user:?}").contains("correct horse"));
    /// ```
    pub fn builder() -> NewUserBuilder {
        NewUserBuilder::default()
    }

    /// The user's section for `vendor`.
    pub fn section(&self, vendor: Vendor) -> &VendorSection {
        match vendor {
            Vendor::Entrust => &self.entrust,
            Vendor::Mid => &self.mid,
            Vendor::Nexway => &self.nexway,
        }
    }

    /// The user's section for `vendor`, to change.
    pub fn section_mut(&mut self, vendor: Vendor) -> &mut VendorSection {
        match vendor {
            Vendor::Entrust => &mut self.entrust,
            Vendor::Mid => &mut self.mid,
            Vendor::Nexway => &mut self.nexway,
        }
    }

    /// The user without any secret: no password, no secret-named attribute, no secret in a
    /// vendor section (mID's credential values and activation code, Nexway's password). What may
    /// be hashed, logged or written to a file.
    pub fn without_secrets(&self) -> NewUser {
        let mut shown = self.clone();
        shown.password = None;
        shown
            .attributes
            .retain(|name, _| !is_secret_attribute(name));
        for vendor in Vendor::ALL {
            let section = Vendor::without_secrets(vendor, self.section(vendor));
            *shown.section_mut(vendor) = section;
        }
        shown
    }

    /// The secrets this user carries (password, secret attributes, secrets in its vendor
    /// sections), for redacting answers and messages.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self
            .password
            .iter()
            .map(|p| p.expose_secret().to_owned())
            .collect();
        for (name, value) in &self.attributes {
            if is_secret_attribute(name) {
                match value {
                    Value::String(s) => secrets.push(s.clone()),
                    other => secrets.push(other.to_string()),
                }
            }
        }
        for vendor in Vendor::ALL {
            secrets.extend(vendor.secret_values(self.section(vendor)));
        }
        secrets.retain(|s| !s.is_empty());
        secrets
    }
}

/// Builds a [`NewUser`].
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct NewUserBuilder(NewUser);

impl NewUserBuilder {
    /// The name the user signs in with.
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.0.username = Some(username.into());
        self
    }
    /// Email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.0.email = Some(email.into());
        self
    }
    /// First name.
    pub fn first_name(mut self, name: impl Into<String>) -> Self {
        self.0.first_name = Some(name.into());
        self
    }
    /// Last name.
    pub fn last_name(mut self, name: impl Into<String>) -> Self {
        self.0.last_name = Some(name.into());
        self
    }
    /// Phone number.
    pub fn phone(mut self, phone: impl Into<String>) -> Self {
        self.0.phone = Some(phone.into());
        self
    }
    /// Mobile phone number.
    pub fn mobile(mut self, mobile: impl Into<String>) -> Self {
        self.0.mobile = Some(mobile.into());
        self
    }
    /// Initial password.
    pub fn password(mut self, password: impl Into<SecretString>) -> Self {
        self.0.password = Some(password.into());
        self
    }
    /// Whether the user can sign in.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.0.enabled = Some(enabled);
        self
    }
    /// Adds a role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.0.roles.push(role.into());
        self
    }
    /// Adds a group.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.0.groups.push(group.into());
        self
    }
    /// Sets an attribute.
    pub fn attribute(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.0.attributes.insert(name.into(), value.into());
        self
    }
    /// Sets one of Entrust's own create-request properties (`UserParms`), by the spec's name.
    ///
    /// ```
    /// use serde_json::json;
    /// let user = iam_clients::NewUser::builder()
    ///     .username("john")
    ///     .entrust("externalId", "hr-42")
    ///     .entrust("userAliases", json!([{"value": "johnny", "type": "CUSTOM"}]))
    ///     .build();
    /// assert_eq!(user.entrust["externalId"], "hr-42");
    /// ```
    pub fn entrust(self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.vendor(Vendor::Entrust, name, value)
    }
    /// Sets one of mID Provider's own create-request properties (`UserRepresentation`).
    pub fn mid(self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.vendor(Vendor::Mid, name, value)
    }
    /// Sets one of Nexway's own create-request properties (`UserCreate`).
    pub fn nexway(self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.vendor(Vendor::Nexway, name, value)
    }
    /// Sets property `name` of `vendor`'s section.
    pub fn vendor(
        mut self,
        vendor: Vendor,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Self {
        self.0.section_mut(vendor).insert(name.into(), value.into());
        self
    }
    /// The user.
    pub fn build(self) -> NewUser {
        self.0
    }
}

/// A user the provider created.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CreatedUser {
    /// Where.
    pub provider: ProviderKind,
    /// The provider's ID of the user, when its answer has one (Entrust).
    pub id: Option<String>,
    /// The username, as the provider answered it or as sent.
    pub username: Option<String>,
    /// The HTTP status of the answer (Entrust 200, mID 202, Nexway 201).
    pub status: u16,
    /// The provider's answer, typed; `None` when the success answer was empty, malformed or cut
    /// off. The user was created all the same: the provider said so with a 2xx status.
    pub answer: Option<ProviderAnswer>,
    /// How many requests it took (more than 1 after a 429/503 retry or a token refresh).
    pub attempts: u32,
}

/// A provider's success answer, as its generated type (secrets in it never print).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ProviderAnswer {
    /// Entrust's full user object.
    #[cfg(feature = "entrust")]
    Entrust(Box<entrust_idaas::types::User>),
    /// mID's `{subSystem, status, message}`.
    #[cfg(feature = "mid")]
    Mid(mid_provider::types::ResponseStatus),
    /// Nexway's user.
    #[cfg(feature = "nexway")]
    Nexway(Box<nexway_iam::types::User>),
}

/// `Some(text)` when the option holds non-blank text.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

/// Checks an email address: text on both sides of one `@`, no whitespace.
pub(crate) fn check_email(provider: ProviderKind, email: &str) -> Result<(), Error> {
    let ok = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            provider,
            "email",
            format!("`{email}` is not an email address (it needs text on both sides of one `@`)"),
        ))
    }
}

/// Refuses the fields of `user` that `provider` cannot take.
pub(crate) fn refuse_unsupported(
    provider: ProviderKind,
    user: &NewUser,
    fields: &[(&str, &str)],
) -> Result<(), Error> {
    for (field, why) in fields {
        let present = match *field {
            "password" => user.password.is_some(),
            "phone" => given(&user.phone).is_some(),
            "mobile" => given(&user.mobile).is_some(),
            "roles" => !user.roles.is_empty(),
            "groups" => !user.groups.is_empty(),
            "attributes" => !user.attributes.is_empty(),
            other => unreachable!("no such NewUser field {other}"),
        };
        if present {
            return Err(Error::unsupported(provider, field, why));
        }
    }
    Ok(())
}
