//! Errors in setting a client up.

use std::fmt;

/// A client could not be set up: nothing was sent.
///
/// Messages name what is wrong and never contain a secret.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse.
    InvalidBaseUrl {
        /// The URL as given, with any user-info removed.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The base URL is `http://` to a host that is not loopback (or another scheme).
    InsecureBaseUrl {
        /// The URL as given.
        url: String,
    },
    /// A server variable (an Entrust domain or region, an mID tenant or host name) is not a
    /// valid host name part.
    InvalidServerVariable {
        /// Which variable.
        name: &'static str,
        /// The value given.
        value: String,
    },
    /// The base URL carries a user name or password; credentials go in the token.
    CredentialsInUrl,
    /// The token is empty or cannot be sent in an HTTP header (a control character, a newline).
    InvalidToken,
    /// A certificate to trust could not be read.
    InvalidCertificate(reqwest::Error),
    /// The PEM given as a certificate to trust holds no certificate.
    NoCertificateInPem,
    /// The HTTP client could not be built.
    Http(reqwest::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidBaseUrl { url, reason } => {
                write!(f, "invalid base URL `{url}`: {reason}")
            }
            Self::InsecureBaseUrl { url } => write!(
                f,
                "refusing base URL `{url}`: use https:// (plain http:// is allowed only to a loopback host such as 127.0.0.1, ::1 or localhost)"
            ),
            Self::InvalidServerVariable { name, value } => write!(
                f,
                "invalid {name} `{value}`: use letters, digits and `-` only (dots too in a host name), not empty"
            ),
            Self::CredentialsInUrl => f.write_str(
                "refusing a base URL that carries a user name or password: pass the token separately",
            ),
            Self::InvalidToken => f.write_str(
                "invalid token: it is empty or holds a character an HTTP header cannot carry",
            ),
            Self::InvalidCertificate(_) => f.write_str("invalid certificate to trust"),
            Self::NoCertificateInPem => f.write_str(
                "no certificate to trust: the PEM holds no `-----BEGIN CERTIFICATE-----` block",
            ),
            Self::Http(_) => f.write_str("could not build the HTTP client"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidCertificate(e) | Self::Http(e) => Some(e),
            _ => None,
        }
    }
}
