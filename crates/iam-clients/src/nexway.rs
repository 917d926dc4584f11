//! Nexway IAM.

use std::sync::Arc;

use nexway_iam::types;

use crate::connection::Common;
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
                ("phone", "Nexway's create call takes no phone number"),
                ("mobile", "Nexway's create call takes no mobile number"),
                ("groups", "Nexway's create call takes no groups"),
                (
                    "attributes",
                    "Nexway's create call takes no attributes; set `authorizedCustomers` with create_user_with",
                ),
            ],
        )?;
        let email = given(&user.email).ok_or_else(|| Error::missing(KIND, "email"))?;
        check_email(KIND, email)?;
        let first_name =
            given(&user.first_name).ok_or_else(|| Error::missing(KIND, "first_name"))?;
        let last_name = given(&user.last_name).ok_or_else(|| Error::missing(KIND, "last_name"))?;
        let password = user
            .password
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| Error::missing(KIND, "password"))?;
        Ok(types::UserCreate {
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            password,
            user_name: given(&user.username).map(str::to_owned),
            status: user.enabled.map(|on| {
                if on {
                    types::UserStatus::Enabled
                } else {
                    types::UserStatus::Disabled
                }
            }),
            roles: user
                .roles
                .iter()
                .map(|name| types::Role {
                    name: Some(name.clone()),
                    ..Default::default()
                })
                .collect(),
            authorized_customers: vec![],
            emails: None,
        })
    }

    /// Creates `user` (the same as [`IdentityProvider::create_user`], without importing the trait).
    pub async fn create_user(&self, user: &NewUser) -> Result<CreatedUser, Error> {
        self.create_user_with(user, |_| {}).await
    }

    /// Creates `user`, after `adjust` has changed the generated request (e.g. to add
    /// `authorizedCustomers`).
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
