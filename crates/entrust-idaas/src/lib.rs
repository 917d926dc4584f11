#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, rustdoc::all)]
mod generated;

use progenitor_client::ClientInfo;

pub use generated::{ByteStream, Error, ResponseValue, types};
pub use iam_core::{Auth, ConfigError, HttpOptions, SecretString, TokenSource};

/// A client for the create-user and find-a-user calls of the Entrust IDaaS Administration API.
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

    /// A client that sends no token, for [`Client::authenticate_admin_api`] (the call that gets
    /// one). Any other call through it is refused by Entrust with 401.
    pub fn unauthenticated(base_url: &str, http: &HttpOptions) -> Result<Self, ConfigError> {
        Self::with_options(base_url, Auth::none(), http)
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

    /// `POST /api/web/v3/users/userid`: finds the user whose user ID or user alias is
    /// `body.user_id` and answers with all of its details, as [`Client::create_user`] does.
    ///
    /// No such user is an [`Error::ErrorResponse`] with status 404; the other refusals (400, 401,
    /// 403, 409, 500) are too, each holding Entrust's [`types::ErrorInfo`].
    pub async fn user_by_userid(
        &self,
        body: &types::UserGetParms,
    ) -> Result<ResponseValue<types::User>, Error<types::ErrorInfo>> {
        self.0.user_by_userid(body).await
    }

    /// `POST /api/web/v1/adminapi/authenticate`: an Administration API application's id and
    /// shared secret for an auth token (`authToken`, a [`SecretString`]) and its
    /// `expirationTime`. Call it on a [`Client::unauthenticated`] client. A wrong secret is an
    /// [`Error::ErrorResponse`] with status 401.
    pub async fn authenticate_admin_api(
        &self,
        body: &types::AdminApiAuthentication,
    ) -> Result<ResponseValue<types::AdminApiAuthenticationResult>, Error<types::ErrorInfo>> {
        self.0.authenticate_admin_api(body).await
    }
}

impl types::UserParms {
    /// A request creating the user `user_id` with nothing else set; set the other fields with
    /// struct update syntax:
    ///
    /// ```
    /// use entrust_idaas::types::{State, UserParms};
    /// let user = UserParms {
    ///     email: Some("johnsmith@organization.com".into()),
    ///     state: Some(State::Active),
    ///     ..UserParms::new("john").unwrap()
    /// };
    /// assert_eq!(user.user_id.as_str(), "john");
    /// assert!(UserParms::new("").is_err()); // Entrust requires a user ID
    /// ```
    pub fn new(user_id: &str) -> Result<Self, types::error::ConversionError> {
        Ok(Self {
            user_id: user_id.parse()?,
            apply_grace_period: None,
            email: None,
            email_verification: None,
            external_id: None,
            external_source: None,
            first_name: None,
            groups: vec![],
            last_name: None,
            locale: None,
            lock: None,
            mobile: None,
            oauth_roles: vec![],
            organizations: vec![],
            phone: None,
            preferred_otp_delivery: None,
            preferred_otp_delivery_contact_attributes: Default::default(),
            registration_required: None,
            security_id: None,
            state: None,
            user_aliases: vec![],
            user_attribute_values: vec![],
            user_extra_attributes: vec![],
            user_principal_name: None,
            verification_required: None,
        })
    }
}
