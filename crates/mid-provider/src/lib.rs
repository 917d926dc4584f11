#![doc = include_str!("../README.md")]

#[rustfmt::skip]
#[allow(missing_docs, clippy::all, rustdoc::all)]
mod generated;

use progenitor_client::ClientInfo;

pub use generated::{ByteStream, Error, ResponseValue, types};
pub use iam_core::{Auth, ConfigError, HttpOptions, SecretString, TokenSource};

/// Which of mID Provider's two URLs a client uses. Both take the same body and give the same
/// answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// SSMS: `POST https://{tenantId}.{hostname}/digitanium/v4/users`; the tenant is the first
    /// label of the host name, so it is part of the base URL.
    Ssms,
    /// SHIFT: `POST https://{hostname}/auth/realms/{tenantId}/v3_user`; the tenant is in the path.
    Shift {
        /// The tenant ID (the realm).
        tenant: String,
    },
}

/// A client for mID Provider's Create User call, in one [`Flavour`].
///
/// Every request goes over HTTPS (plain HTTP only to a loopback host) with
/// `Authorization: Bearer <token>`; the token never appears in `Debug`.
#[derive(Clone, Debug)]
pub struct Client {
    inner: generated::Client,
    flavour: Flavour,
}

impl Client {
    /// The SSMS base URL, `https://{tenant}.{hostname}`.
    ///
    /// ```
    /// assert_eq!(mid_provider::Client::ssms_url("acme", "mid.example.com").unwrap(), "https://acme.mid.example.com");
    /// assert!(mid_provider::Client::ssms_url("acme/", "mid.example.com").is_err());
    /// ```
    pub fn ssms_url(tenant: &str, hostname: &str) -> Result<String, ConfigError> {
        let tenant = iam_core::base_url::host_label("tenant", tenant)?;
        let hostname = iam_core::base_url::host_name("hostname", hostname)?;
        Ok(format!("https://{tenant}.{hostname}"))
    }

    /// The SHIFT base URL, `https://{hostname}`.
    pub fn shift_url(hostname: &str) -> Result<String, ConfigError> {
        let hostname = iam_core::base_url::host_name("hostname", hostname)?;
        Ok(format!("https://{hostname}"))
    }

    /// An SSMS client for `tenant` on `hostname`, sending a fixed token.
    pub fn ssms(
        tenant: &str,
        hostname: &str,
        token: impl Into<SecretString>,
    ) -> Result<Self, ConfigError> {
        let base_url = Self::ssms_url(tenant, hostname)?;
        Self::with_options(
            Flavour::Ssms,
            &base_url,
            Auth::bearer(token)?,
            &HttpOptions::default(),
        )
    }

    /// A SHIFT client for `tenant` on `hostname`, sending a fixed token.
    pub fn shift(
        hostname: &str,
        tenant: &str,
        token: impl Into<SecretString>,
    ) -> Result<Self, ConfigError> {
        let base_url = Self::shift_url(hostname)?;
        let flavour = Flavour::Shift {
            tenant: tenant.to_owned(),
        };
        Self::with_options(
            flavour,
            &base_url,
            Auth::bearer(token)?,
            &HttpOptions::default(),
        )
    }

    /// A client for any base URL (a proxy, the simulator), with any token source and HTTP
    /// options. For [`Flavour::Ssms`] the base URL's host must start with the tenant.
    pub fn with_options(
        flavour: Flavour,
        base_url: &str,
        auth: Auth,
        http: &HttpOptions,
    ) -> Result<Self, ConfigError> {
        if let Flavour::Shift { tenant } = &flavour
            && (tenant.trim().is_empty() || tenant.chars().any(char::is_control))
        {
            return Err(ConfigError::InvalidServerVariable {
                name: "tenant",
                value: tenant.clone(),
            });
        }
        let inner = iam_core::connect(base_url, auth, http, generated::Client::new_with_client)?;
        Ok(Self { inner, flavour })
    }

    /// The flavour this client speaks.
    pub fn flavour(&self) -> &Flavour {
        &self.flavour
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.baseurl()
    }

    /// Creates a user: `POST /digitanium/v4/users` (SSMS) or
    /// `POST /auth/realms/{tenant}/v3_user` (SHIFT). 202 answers "User created successfully".
    ///
    /// The refusals (400 `BAD_REQUEST` "Username should not be null or empty", 401, and 409
    /// `CONFLICT` when the user exists) are an [`Error::ErrorResponse`] holding mID's
    /// [`types::ResponseStatus`].
    pub async fn create_user(
        &self,
        body: &types::UserRepresentation,
    ) -> Result<ResponseValue<types::ResponseStatus>, Error<types::ResponseStatus>> {
        match &self.flavour {
            Flavour::Ssms => self.inner.create_user_ssms(body).await,
            Flavour::Shift { tenant } => self.inner.create_user_shift(tenant, body).await,
        }
    }
}
