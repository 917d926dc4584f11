#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, rustdoc::all)]
mod generated;

use progenitor_client::ClientInfo;

pub use generated::{ByteStream, Error, ResponseValue, types};
pub use iam_core::{Auth, ConfigError, HttpOptions, SecretString, TokenSource};

/// A client for the create-user call of the Entrust IDaaS Administration API.
///
/// Every request goes over HTTPS (plain HTTP only to a loopback host) with
/// `Authorization: Bearer <token>`; the token never appears in `Debug`.
#[derive(Clone, Debug)]
pub struct Client(generated::Client);

impl Client {
    /// The base URL of an Entrust account, `https://{domain}.{region}.trustedauth.com`.
    ///
    /// ```
    /// assert_eq!(
    ///     entrust_idaas::Client::account_url("acme", "us").unwrap(),
    ///     "https://acme.us.trustedauth.com"
    /// );
    /// assert!(entrust_idaas::Client::account_url("evil.com/", "us").is_err());
    /// ```
    pub fn account_url(domain: &str, region: &str) -> Result<String, ConfigError> {
        let domain = iam_core::base_url::host_label("domain", domain)?;
        let region = iam_core::base_url::host_label("region", region)?;
        Ok(format!("https://{domain}.{region}.trustedauth.com"))
    }

    /// A client for `base_url` (e.g. from [`Client::account_url`]) sending a fixed token.
    pub fn new(base_url: &str, token: impl Into<SecretString>) -> Result<Self, ConfigError> {
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

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.0.baseurl()
    }

    /// `POST /api/web/v3/users`: creates a user and answers with all of its details.
    ///
    /// A refusal (400, 401, 403, 404, 500, and 409 when the user exists) is an
    /// [`Error::ErrorResponse`] holding Entrust's [`types::ErrorInfo`].
    pub async fn create_user(
        &self,
        body: &types::UserParms,
    ) -> Result<ResponseValue<types::User>, Error<types::ErrorInfo>> {
        self.0.create_user(body).await
    }
}
