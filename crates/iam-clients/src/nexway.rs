//! Nexway IAM.

use std::sync::Arc;

use nexway_iam::types;

use crate::connection::Common;
use serde_json::Value;

use crate::section::{self, Mapped};
use crate::send::send;
use crate::user::{check_email, given, refuse_unsupported};
use crate::{
    BoxFuture, Connection, CreatedUser, Error, IdentityProvider, NewUser, ProviderAnswer,
    ProviderKind,
};

const KIND: ProviderKind = ProviderKind::Nexway;

/// Creates users on Nexway IAM (`POST /iam/users`).
#[derive(Clone, Debug)]
pub struct NexwayClient {
    client: nexway_iam::Client,
    common: Arc<Common>,
}

impl NexwayClient {
    /// Nexway's documented server.
    pub const DEFAULT_BASE_URL: &'static str = nexway_iam::Client::DEFAULT_BASE_URL;

    /// A client for the connection's base URL (e.g. [`NexwayClient::DEFAULT_BASE_URL`]).
    pub fn new(connection: Connection) -> Result<Self, Error> {
        let common = Common::new(&connection)?;
        let client = nexway_iam::Client::with_options(
            &connection.base_url,
            common.auth.clone(),
            &connection.http,
        )
        .map_err(crate::connection::config_error)?;
        Ok(Self { client, common })
    }

    /// The request [`IdentityProvider::create_user`] sends for `user`, or why it would not be
    /// sent.
    pub fn request_for(&self, user: &NewUser) -> Result<types::UserCreate, Error> {
        refuse_unsupported(
            KIND,
            user,
            &[
                (
                    "phone",
                    "Nexway's create call (UserCreate) has no phone number",
                ),
                (
                    "mobile",
                    "Nexway's create call (UserCreate) has no mobile number",
                ),
                ("groups", "Nexway's create call (UserCreate) has no groups"),
                (
                    "attributes",
                    "Nexway's create call (UserCreate) has no attributes; its own properties go in the `nexway` section (e.g. `nexway.authorizedCustomers`)",
                ),
            ],
        )?;
        if let Some(email) = given(&user.email) {
            check_email(KIND, email)?;
        }
        section::request(
            KIND,
            user,
            &[
                Mapped::text("email", "email", &user.email),
                Mapped::text("first_name", "firstName", &user.first_name),
                Mapped::text("last_name", "lastName", &user.last_name),
                Mapped::new(
                    "password",
                    "password",
                    user.password
                        .as_ref()
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::from(p.expose_secret())),
                ),
                Mapped::text("username", "userName", &user.username),
                Mapped::new(
                    "enabled",
                    "status",
                    user.enabled
                        .map(|on| Value::from(if on { "ENABLED" } else { "DISABLED" })),
                ),
                Mapped::new(
                    "roles",
                    "roles",
                    (!user.roles.is_empty()).then(|| {
                        user.roles
                            .iter()
                            .map(|name| serde_json::json!({ "name": name }))
                            .collect()
                    }),
                ),
            ],
        )
    }

    /// Creates `user` (the same as [`IdentityProvider::create_user`], without importing the trait).
    pub async fn create_user(&self, user: &NewUser) -> Result<CreatedUser, Error> {
        self.create_user_with(user, |_| {}).await
    }

    /// Creates `user`, after `adjust` has changed the generated request. Every property of
    /// `UserCreate` can be set through the user's `nexway` section; this is the escape hatch for
    /// code that would rather work on the generated type.
    pub async fn create_user_with(
        &self,
        user: &NewUser,
        adjust: impl FnOnce(&mut types::UserCreate),
    ) -> Result<CreatedUser, Error> {
        let mut request = self.request_for(user)?;
        adjust(&mut request);
        let created = send(&self.common, KIND, "create_user", &user.secrets(), || {
            self.client.create_user(&request)
        })
        .await?;
        Ok(CreatedUser {
            provider: KIND,
            id: created.id(|u| u.id.as_ref()),
            username: created
                .answer
                .as_ref()
                .and_then(|u| u.user_name.clone())
                .or(request.user_name),
            status: created.status,
            answer: created.answer.map(|u| ProviderAnswer::Nexway(Box::new(u))),
            attempts: created.attempts,
        })
    }
}

impl IdentityProvider for NexwayClient {
    fn kind(&self) -> ProviderKind {
        KIND
    }

    fn validate(&self, user: &NewUser) -> Result<(), Error> {
        self.request_for(user).map(drop)
    }

    fn create_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<CreatedUser, Error>> {
        Box::pin(Self::create_user(self, user))
    }
}
