//! mID Provider (Digitanium), SSMS and SHIFT.

use std::sync::Arc;

use mid_provider::types;
use serde_json::Value;

use crate::connection::Common;
use crate::section::{self, Mapped};
use crate::send::{ErrorBody, send};
use crate::user::{check_email, given, refuse_unsupported};
use crate::{
    BoxFuture, Connection, CreatedUser, Error, IdentityProvider, NewUser, ProviderAnswer,
    ProviderKind,
};

impl ErrorBody for types::ResponseStatus {
    fn message(&self) -> Option<String> {
        self.message.clone()
    }
}

/// Which of mID Provider's URLs, and so where the tenant goes: `Ssms` (the tenant is the first
/// label of the base URL's host) or `Shift { tenant }` (the tenant is in the path).
pub use mid_provider::Flavour as MidFlavour;

/// Creates users on mID Provider, in one [`MidFlavour`], for one tenant.
#[derive(Clone, Debug)]
pub struct MidClient {
    client: mid_provider::Client,
    common: Arc<Common>,
    tenant: String,
    kind: ProviderKind,
}

impl MidClient {
    /// An SSMS client: the tenant is the first label of the connection's host (see
    /// [`MidClient::ssms_url`], which builds such a URL and refuses a tenant that is not a
    /// label). A base URL given as is, whose host names no tenant (a proxy, an IP address, an
    /// on-premise host), is taken as the caller's choice: the server behind it knows the tenant,
    /// and [`MidClient::tenant`] is empty.
    pub fn ssms(connection: Connection) -> Result<Self, Error> {
        Self::new(connection, MidFlavour::Ssms)
    }

    /// A SHIFT client for `tenant` (see [`MidClient::shift_url`]).
    pub fn shift(connection: Connection, tenant: impl Into<String>) -> Result<Self, Error> {
        Self::new(
            connection,
            MidFlavour::Shift {
                tenant: tenant.into(),
            },
        )
    }

    /// A client in `flavour`.
    pub fn new(connection: Connection, flavour: MidFlavour) -> Result<Self, Error> {
        let common = Common::new(&connection)?;
        let (tenant, kind) = match &flavour {
            MidFlavour::Shift { tenant } => (tenant.clone(), ProviderKind::MidShift),
            MidFlavour::Ssms => {
                let host = reqwest::Url::parse(connection.base_url.trim())
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                    .unwrap_or_default();
                let tenant = iam_core::base_url::tenant_label(&host).unwrap_or_default();
                (tenant.to_owned(), ProviderKind::MidSsms)
            }
        };
        let client = mid_provider::Client::with_options(
            flavour,
            &connection.base_url,
            common.auth.clone(),
            &connection.http,
        )
        .map_err(crate::connection::config_error)?;
        Ok(Self {
            client,
            common,
            tenant,
            kind,
        })
    }

    /// `https://{tenant}.{hostname}`, the documented SSMS server.
    pub fn ssms_url(tenant: &str, hostname: &str) -> Result<String, Error> {
        mid_provider::Client::ssms_url(tenant, hostname).map_err(crate::connection::config_error)
    }

    /// `https://{hostname}`, the documented SHIFT server.
    pub fn shift_url(hostname: &str) -> Result<String, Error> {
        mid_provider::Client::shift_url(hostname).map_err(crate::connection::config_error)
    }

    /// The tenant users are created in: SHIFT's, or the first label of SSMS's host; empty for
    /// an SSMS base URL whose host names none (an IP address, a proxy).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The flavour.
    pub fn flavour(&self) -> &MidFlavour {
        self.client.flavour()
    }

    /// The request [`IdentityProvider::create_user`] sends for `user`, or why it would not be
    /// sent.
    pub fn request_for(&self, user: &NewUser) -> Result<types::UserRepresentation, Error> {
        let kind = self.kind;
        refuse_unsupported(
            kind,
            user,
            &[
                (
                    "phone",
                    "mID Provider's create call (UserRepresentation) has no phone number (an attribute can carry one)",
                ),
                (
                    "mobile",
                    "mID Provider's create call (UserRepresentation) has no mobile number (an attribute can carry one)",
                ),
            ],
        )?;
        if let Some(username) = given(&user.username) {
            types::Username::try_from(username).map_err(|_| {
                Error::invalid(
                    kind,
                    "username",
                    format!("`{username}`: mID Provider takes only letters, digits and the characters $@(.)-*_[]~!&+ in a username"),
                )
            })?;
        }
        if let Some(email) = given(&user.email) {
            check_email(kind, email)?;
        }
        let attributes = self.attributes(user)?;
        section::request(
            kind,
            user,
            &[
                Mapped::text("username", "username", &user.username),
                Mapped::text("email", "email", &user.email),
                Mapped::text("first_name", "firstName", &user.first_name),
                Mapped::text("last_name", "lastName", &user.last_name),
                Mapped::new("enabled", "enabled", user.enabled.map(Value::from)),
                Mapped::new(
                    "password",
                    "credentials",
                    user.password.as_ref().map(|password| {
                        serde_json::json!([{
                            "value": password.expose_secret(),
                            "temporary": true,
                            "type": "password",
                        }])
                    }),
                ),
                Mapped::list("roles", "realmRoles", &user.roles),
                Mapped::new(
                    if user.attributes.is_empty() {
                        "groups"
                    } else {
                        "attributes"
                    },
                    "attributes",
                    attributes,
                ),
            ],
        )
    }

    /// The `attributes` object: the user's attributes and groups, each attribute checked against
    /// the spec on its own so that an error names it.
    fn attributes(&self, user: &NewUser) -> Result<Option<Value>, Error> {
        if user.attributes.is_empty() && user.groups.is_empty() {
            return Ok(None);
        }
        let mut object = serde_json::Map::new();
        for (name, value) in &user.attributes {
            let single = Value::Object([(name.clone(), value.clone())].into_iter().collect());
            if let Err(e) = serde_json::from_value::<types::Attributes>(single) {
                let shown = if crate::user::is_secret_attribute(name) {
                    "***".to_owned()
                } else {
                    value.to_string()
                };
                return Err(Error::invalid(
                    self.kind,
                    &format!("attributes.{name}"),
                    format!(
                        "{shown} does not fit mID's `{name}` attribute: {}",
                        e.to_string().replace(&value.to_string(), "***")
                    ),
                ));
            }
            object.insert(name.clone(), value.clone());
        }
        if !user.groups.is_empty() {
            object.insert("groups".to_owned(), Value::from(user.groups.clone()));
        }
        Ok(Some(Value::Object(object)))
    }

    /// Creates `user` (the same as [`IdentityProvider::create_user`], without importing the trait).
    pub async fn create_user(&self, user: &NewUser) -> Result<CreatedUser, Error> {
        self.create_user_with(user, |_| {}).await
    }

    /// Creates `user`, after `adjust` has changed the generated request. Every property of
    /// `UserRepresentation` can be set through the user's `mid` section (`clientRoles`,
    /// `requiredActions`, ...); this is the escape hatch for code that would rather work on the
    /// generated type.
    ///
    /// ```no_run
    /// # async fn run(client: iam_clients::MidClient, user: iam_clients::NewUser) -> Result<(), iam_clients::Error> {
    /// client
    ///     .create_user_with(&user, |request| {
    ///         // From JSON, so that the documented defaults (digitaniumCreateActivation: true) apply.
    ///         let attributes = request.attributes.get_or_insert_with(|| serde_json::from_str("{}").unwrap());
    ///         attributes.digitanium_activation_code = Some("10101010".into()); // a SecretString
    ///         request.required_actions.push("UPDATE_PASSWORD".into());
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_user_with(
        &self,
        user: &NewUser,
        adjust: impl FnOnce(&mut types::UserRepresentation),
    ) -> Result<CreatedUser, Error> {
        let mut request = self.request_for(user)?;
        adjust(&mut request);
        let mut secrets = user.secrets();
        if let Some(code) = request
            .attributes
            .as_ref()
            .and_then(|a| a.digitanium_activation_code.as_ref())
        {
            secrets.push(code.expose_secret().to_owned());
        }
        let operation = match self.kind {
            ProviderKind::MidShift => "create_user_shift",
            _ => "create_user_ssms",
        };
        let created = send(&self.common, self.kind, operation, &secrets, || {
            self.client.create_user(&request)
        })
        .await?;
        Ok(CreatedUser {
            provider: self.kind,
            id: None,
            username: Some(String::clone(&request.username)),
            status: created.status,
            answer: created.answer.map(ProviderAnswer::Mid),
            attempts: created.attempts,
        })
    }
}

impl IdentityProvider for MidClient {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    fn validate(&self, user: &NewUser) -> Result<(), Error> {
        self.request_for(user).map(drop)
    }

    fn create_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<CreatedUser, Error>> {
        Box::pin(Self::create_user(self, user))
    }
}
