#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, rustdoc::all)]
mod generated;

use progenitor_client::ClientInfo;

pub use generated::{ByteStream, Error, ResponseValue, types};
pub use iam_core::{Auth, ConfigError, HttpOptions, SecretString, TokenSource};

/// A client for the create-a-user call of Nexway IAM.
///
/// Every request goes over HTTPS (plain HTTP only to a loopback host) with
/// `Authorization: Bearer <JWT>`; the token never appears in `Debug`.
#[derive(Clone, Debug)]
pub struct Client(generated::Client);

impl Client {
    /// Nexway's documented server.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.nexway.store";

    /// A client for [`Client::DEFAULT_BASE_URL`] sending a fixed JWT.
    pub fn new(token: impl Into<SecretString>) -> Result<Self, ConfigError> {
        Self::with_base_url(Self::DEFAULT_BASE_URL, token)
    }

    /// A client for another base URL (a proxy, the simulator) sending a fixed JWT.
    pub fn with_base_url(
        base_url: &str,
        token: impl Into<SecretString>,
    ) -> Result<Self, ConfigError> {
        Self::with_options(base_url, Auth::bearer(token)?, &HttpOptions::default())
    }

    /// A client with any token source and HTTP options (timeouts, certificates to trust).
    pub fn with_options(
        base_url: &str,
        auth: Auth,
        http: &HttpOptions,
    ) -> Result<Self, ConfigError> {
        iam_core::connect(base_url, auth, http, generated::Client::new_with_client).map(Self)
    }

    /// A client that sends no token, for [`Client::get_user_token`] (the call that gets one).
    pub fn unauthenticated(base_url: &str, http: &HttpOptions) -> Result<Self, ConfigError> {
        Self::with_options(base_url, Auth::none(), http)
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.0.baseurl()
    }

    /// `POST /iam/users`: creates a user from a customer; 201 answers with the user.
    ///
    /// The refusals (401, 403, 404, 500, and 400 for a bad body and 409 when the user exists)
    /// carry no body: they are an [`Error::ErrorResponse`] holding `()`, with the status.
    pub async fn create_user(
        &self,
        body: &types::UserCreate,
    ) -> Result<ResponseValue<types::User>, Error<()>> {
        self.0.create_user(body).await
    }

    /// `POST /iam/tokens`: a JWT for a realm's client secret (`grantType: client_credentials`),
    /// a person's password, or a refresh token. Call it on a [`Client::unauthenticated`]
    /// client. A wrong secret is an [`Error::ErrorResponse`] with status 401 and no body.
    pub async fn get_user_token(
        &self,
        body: &types::TokenRequest,
    ) -> Result<ResponseValue<types::AccessTokenResponse>, Error<()>> {
        self.0.get_user_token(body).await
    }
}
