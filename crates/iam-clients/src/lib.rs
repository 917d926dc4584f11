//! One client for creating users on Entrust IDaaS, mID Provider (SSMS and SHIFT) and Nexway IAM.
//!
//! The provider crates (`entrust-idaas`, `mid-provider`, `nexway-iam`) are generated from the
//! vendors' documents and speak each API exactly. This crate is the thin layer most code wants on
//! top: one [`IdentityProvider`] trait, one provider-neutral [`NewUser`], one [`Error`] whose
//! [`ErrorKind`] says what happened and whether the user may exist, token sources (a fixed token,
//! the vendors' own token endpoints [`EntrustAdminAuth`] and [`NexwayJwt`], or OAuth2
//! [`ClientCredentials`]), and retries that never create a user twice. Answers are read
//! liberally: whatever shape a success answer has, the user is reported created, with the
//! vendor's id whenever the answer carries one.
//! [`IdentityProvider::find_user`] asks the vendor's published lookup for a user's id (after a
//! 409 or an unknown outcome), and answers a [`Lookup`] that is never a guess.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sandbox = iam_sandbox::Sandbox::new(Default::default())?;
//! # let running = sandbox.start(Default::default()).await?;
//! # let (url, token) = (running.url().to_owned(), sandbox.token().expose_secret().to_owned());
//! use iam_clients::{Connection, IdentityProvider, NewUser, NexwayClient};
//!
//! let nexway = NexwayClient::new(Connection::new(&url).bearer(token))?;
//! let user = NewUser::builder()
//!     .username("ada")
//!     .email("ada@example.com")
//!     .first_name("Ada")
//!     .last_name("Lovelace")
//!     .password("correct horse battery staple")
//!     .build();
//! let created = nexway.create_user(&user).await?;
//! assert_eq!((created.status, created.username.as_deref()), (201, Some("ada")));
//!
//! assert!(created.id.is_some(), "Nexway's answer carries the user's id");
//!
//! // The same user again: the provider says it exists.
//! let err = nexway.create_user(&user).await.unwrap_err();
//! assert!(err.is_conflict());
//! # Ok(()) }
//! ```
//!
//! Providers can be held together, as trait objects:
//!
//! ```
//! # fn demo(providers: Vec<Box<dyn iam_clients::IdentityProvider>>, user: &iam_clients::NewUser) {
//! for provider in &providers {
//!     if let Err(e) = provider.validate(user) {
//!         eprintln!("{} would refuse it: {e}", provider.kind());
//!     }
//! }
//! # }
//! ```
//!
//! Each provider is a cargo feature (`entrust`, `mid`, `nexway`; all by default): a crate that
//! needs one provider compiles that one only.
//!
//! Every request gets a `tracing` span `iam.request` with the provider, the operation, the
//! attempt, the status, the latency and the outcome; no body and no secret is recorded.

// Without a provider feature the crate offers its types only; the sending code is then unused.
#![cfg_attr(
    not(any(feature = "entrust", feature = "mid", feature = "nexway")),
    allow(dead_code, unused_imports)
)]

mod auth;
mod connection;
mod error;
mod lookup;
mod section;
mod send;
mod user;
mod vendor_auth;

#[cfg(feature = "entrust")]
mod entrust;
#[cfg(feature = "mid")]
mod mid;
#[cfg(feature = "nexway")]
mod nexway;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

pub use auth::ClientCredentials;
pub use connection::{Connection, RetryPolicy};
pub use error::{Disposition, Error, ErrorKind};
pub use iam_core::{Auth, HttpOptions, SecretString, StaticToken, TokenSource};
pub use lookup::Lookup;
pub use section::{Vendor, VendorSection};
pub use user::{CreatedUser, NewUser, NewUserBuilder, ProviderAnswer, is_secret_attribute};

#[cfg(feature = "entrust")]
pub use entrust::EntrustClient;
#[cfg(feature = "mid")]
pub use mid::{MidClient, MidFlavour};
#[cfg(feature = "nexway")]
pub use nexway::NexwayClient;
#[cfg(feature = "entrust")]
pub use vendor_auth::EntrustAdminAuth;
#[cfg(feature = "nexway")]
pub use vendor_auth::NexwayJwt;

/// The Rust examples of this crate's README, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The future [`IdentityProvider::create_user`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What every provider client does. Object-safe: hold a `Vec<Box<dyn IdentityProvider>>`.
pub trait IdentityProvider: Send + Sync {
    /// Which provider (and mID flavour) this is.
    fn kind(&self) -> ProviderKind;

    /// Checks `user` as [`IdentityProvider::create_user`] would, without sending anything:
    /// missing required fields, fields the provider cannot take, the mID username rule, email
    /// addresses.
    fn validate(&self, user: &NewUser) -> Result<(), Error>;

    /// Creates `user`. Invalid input is refused before anything is sent. 429 and 503 are sent
    /// again after their `Retry-After`, as the [`RetryPolicy`] allows; a 401 is sent once more
    /// with a fresh token when the token source can give one; nothing else is re-sent.
    fn create_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<CreatedUser, Error>>;

    /// Finds `user` through the provider's published lookup, by the key its create request
    /// carries: Entrust by the `userId` [`IdentityProvider::create_user`] would send (the
    /// username, or `entrust.userId`). Use it to learn the id of a user whose create answered
    /// 409 or whose outcome is unknown.
    ///
    /// Only an exact match counts: [`Lookup::One`] with the provider's id when exactly one user
    /// has the key, [`Lookup::NotFound`] when none has (Entrust's 404, or an answer about another
    /// user, e.g. one found by an alias), [`Lookup::Several`] when more than one has.
    /// [`Lookup::NotPublished`] (the default, and nothing is sent) when the provider publishes no
    /// lookup: mID publishes none, and Nexway's search answer has no published shape. A user the
    /// create would refuse is refused the same way, before sending; every other failure is an
    /// [`Error`] as for [`IdentityProvider::create_user`] (401 refreshed once, 429/503 waited for
    /// as the [`RetryPolicy`] allows).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let sandbox = iam_sandbox::Sandbox::new(Default::default())?;
    /// # let running = sandbox.start(Default::default()).await?;
    /// # let (url, token) = (running.url().to_owned(), sandbox.token().expose_secret().to_owned());
    /// use iam_clients::{Connection, EntrustClient, IdentityProvider, Lookup, MidClient, NewUser};
    ///
    /// let entrust = EntrustClient::new(Connection::new(&url).bearer(token.clone()))?;
    /// let user = NewUser::builder().username("john").email("john@example.com").build();
    /// assert_eq!(entrust.find_user(&user).await?, Lookup::NotFound);
    ///
    /// let created = entrust.create_user(&user).await?;
    /// let id = created.id.expect("Entrust's answer carries the id");
    /// assert_eq!(entrust.find_user(&user).await?, Lookup::One { id });
    ///
    /// // mID publishes no lookup: nothing is sent.
    /// let mid = MidClient::shift(Connection::new(&url).bearer(token.clone()), "acme")?;
    /// assert_eq!(mid.find_user(&user).await?, Lookup::NotPublished);
    /// # Ok(()) }
    /// ```
    fn find_user<'a>(&'a self, user: &'a NewUser) -> BoxFuture<'a, Result<Lookup, Error>> {
        let _ = user;
        Box::pin(async { Ok(Lookup::NotPublished) })
    }
}

/// A provider, and for mID the flavour. `Display` and serde use `entrust`, `mid-ssms`,
/// `mid-shift`, `nexway`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Entrust Identity as a Service.
    Entrust,
    /// mID Provider, SSMS URL.
    MidSsms,
    /// mID Provider, SHIFT URL.
    MidShift,
    /// Nexway IAM.
    Nexway,
}

impl ProviderKind {
    /// Every provider kind.
    pub const ALL: [ProviderKind; 4] = [Self::Entrust, Self::MidSsms, Self::MidShift, Self::Nexway];

    /// `entrust`, `mid-ssms`, `mid-shift` or `nexway`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entrust => "entrust",
            Self::MidSsms => "mid-ssms",
            Self::MidShift => "mid-shift",
            Self::Nexway => "nexway",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ProviderKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("unknown provider `{s}`: use entrust, mid-ssms, mid-shift or nexway")
            })
    }
}
