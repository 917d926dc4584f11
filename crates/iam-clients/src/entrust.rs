//! Entrust Identity as a Service.

use std::sync::Arc;

use entrust_idaas::types;
use progenitor_client::ResponseValue;

use crate::connection::Common;
use serde_json::Value;

use crate::section::{self, Mapped};
use crate::send::{ErrorBody, send};
use crate::user::{check_email, given, refuse_unsupported};
use crate::{
    BoxFuture, Connection, CreatedUser, Error, ErrorKind, IdentityProvider, Lookup, NewUser,
    ProviderAnswer, ProviderKind,
};

const KIND: ProviderKind = ProviderKind::Entrust;

impl ErrorBody for types::ErrorInfo {
    fn message(&self) -> Option<String> {
        self.error_message.clone()
    }
}

/// Creates users on Entrust IDaaS (`POST /api/web/v3/users`) and finds them by user ID (`POST
/// /api/web/v3/users/userid`).
#[derive(Clone, Debug)]
pub struct EntrustClient {
    client: entrust_idaas::Client,
    common: Arc<Common>,
}

impl EntrustClient {
    /// A client for the account at the connection's base URL (see
    /// [`EntrustClient::account_url`]).
    pub fn new(connection: Connection) -> Result<Self, Error> {
        let common = Common::new(&connection)?;
        let client = entrust_idaas::Client::with_options(
            &connection.base_url,
            common.auth.clone(),
            &connection.http,
        )
        .map_err(crate::connection::config_error)?;
        Ok(Self { client, common })
    }

    /// `https://{domain}.{region}.trustedauth.com`, the documented server.
    pub fn account_url(domain: &str, region: &str) -> Result<String, Error> {
        entrust_idaas::Client::account_url(domain, region).map_err(crate::connection::config_error)
    }

    /// The request [`IdentityProvider::create_user`] sends for `user`, or why it would not be
    /// sent: the common fields (see [`NewUser`]) and the `entrust` section, decoded into the
    /// generated `UserParms`.
    pub fn request_for(&self, user: &NewUser) -> Result<types::UserParms, Error> {
        refuse_unsupported(
            KIND,
            user,
            &[
                (
                    "password",
                    "Entrust's create call (UserParms) has no password: the user activates through a token or a temporary access code",
                ),
                (
                    "roles",
                    "Entrust's create call takes OAuth roles by UUID, not by name: set `entrust.oauthRoles`",
                ),
                (
                    "attributes",
                    "Entrust's create call takes user attribute values by the attribute's UUID: set `entrust.userAttributeValues` ([{\"userAttributeId\": ..., \"value\": ...}])",
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
                Mapped::text("username", "userId", &user.username),
                Mapped::text("email", "email", &user.email),
                Mapped::text("first_name", "firstName", &user.first_name),
                Mapped::text("last_name", "lastName", &user.last_name),
                Mapped::text("phone", "phone", &user.phone),
                Mapped::text("mobile", "mobile", &user.mobile),
                Mapped::new(
                    "enabled",
                    "state",
                    user.enabled
                        .map(|on| Value::from(if on { "ACTIVE" } else { "INACTIVE" })),
                ),
                Mapped::list("groups", "groups", &user.groups),
            ],
        )
    }

    /// Creates `user` (the same as [`IdentityProvider::create_user`], without importing the trait).
    pub async fn create_user(&self, user: &NewUser) -> Result<CreatedUser, Error> {
        self.create_user_with(user, |_| {}).await
    }

    /// Creates `user`, after `adjust` has changed the generated request. Every property of
    /// `UserParms` can be set through the user's `entrust` section; this is the escape hatch for
    /// code that would rather work on the generated type.
    ///
    /// ```no_run
    /// # async fn run(client: iam_clients::EntrustClient, user: iam_clients::NewUser) -> Result<(), iam_clients::Error> {
    /// use entrust_idaas::types::{UserAliasParms, UserAliasType};
    /// client
    ///     .create_user_with(&user, |request| {
    ///         request.user_aliases.push(UserAliasParms { value: Some("johnny".into()), type_: Some(UserAliasType::Custom) });
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn create_user_with(
        &self,
        user: &NewUser,
        adjust: impl FnOnce(&mut types::UserParms),
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
            username: Some(
                created
                    .answer
                    .as_ref()
                    .and_then(|u| u.user_id.clone())
                    .unwrap_or_else(|| String::clone(&request.user_id)),
            ),
            status: created.status,
            answer: created.answer.map(|u| ProviderAnswer::Entrust(Box::new(u))),
            attempts: created.attempts,
        })
    }
}

impl EntrustClient {
    /// Finds `user` by the `userId` its create request carries (the same as
    /// [`IdentityProvider::find_user`], without importing the trait): `POST
    /// /api/web/v3/users/userid` with `{"userId": ...}`.
    ///
    /// Entrust answers the user whose user ID *or alias* is the one sent; an answer about a user
    /// whose `userId` is another (found by an alias) is [`Lookup::NotFound`], since it is not the
    /// user this `NewUser` creates. User IDs are compared ignoring case, as Entrust matches them.
    pub async fn find_user(&self, user: &NewUser) -> Result<Lookup, Error> {
        let wanted = String::clone(&self.request_for(user)?.user_id);
        let body = types::UserGetParms {
            user_id: wanted.clone(),
        };
        // Entrust's 404 (with its error body) is an answer here, not a failure: it is read as a
        // value, so that `send` neither reports nor retries it.
        let found = send(
            &self.common,
            KIND,
            "user_by_userid",
            &user.secrets(),
            || async {
                match self.client.user_by_userid(&body).await {
                    Ok(found) => {
                        let (status, headers) = (found.status(), found.headers().clone());
                        Ok(ResponseValue::new(
                            Some(found.into_inner()),
                            status,
                            headers,
                        ))
                    }
                    Err(progenitor_client::Error::ErrorResponse(absent))
                        if absent.status() == 404 =>
                    {
                        let (status, headers) = (absent.status(), absent.headers().clone());
                        Ok(ResponseValue::new(None, status, headers))
                    }
                    Err(e) => Err(e),
                }
            },
        )
        .await?;
        let found_id = found.id(|u| u.as_ref().and_then(|u| u.id.as_ref()));
        match found.answer {
            Some(None) => Ok(Lookup::NotFound),
            Some(Some(answered))
                if answered
                    .user_id
                    .as_ref()
                    .is_some_and(|id| id.to_lowercase() != wanted.to_lowercase()) =>
            {
                Ok(Lookup::NotFound)
            }
            _ => match found_id {
                Some(id) => Ok(Lookup::One { id }),
                None => Err(Error::new(
                    ErrorKind::UnexpectedAnswer,
                    Some(KIND),
                    "the user was found, but the answer holds no id",
                )
                .with_status(found.status)
                .with_attempts(found.attempts)),
            },
        }
    }
}

impl IdentityProvider for EntrustClient {
    fn kind(&self) -> ProviderKind {
        KIND
    }

    fn validate(&self, user: &NewUser) -> Result<(), Error> {
        self.request_for(user).map(drop)
    }

    fn create_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<CreatedUser, Error>> {
        Box::pin(Self::create_user(self, user))
    }

    fn find_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<Lookup, Error>> {
        Box::pin(Self::find_user(self, user))
    }
}
