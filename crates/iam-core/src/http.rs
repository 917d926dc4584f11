//! The HTTP client the generated clients send through.

use std::sync::Once;
use std::time::Duration;

use crate::ConfigError;

/// How to build the `reqwest` client: timeouts and certificates to trust.
///
/// ```
/// use std::time::Duration;
///
/// let http = iam_core::HttpOptions::default()
///     .timeout(Duration::from_secs(10))
///     .build()
///     .unwrap();
/// # let _ = http;
/// ```
#[derive(Clone, Debug)]
pub struct HttpOptions {
    timeout: Duration,
    connect_timeout: Duration,
    extra_roots: Vec<reqwest::Certificate>,
    user_agent: String,
    resolve: Vec<(String, std::net::SocketAddr)>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Self::DEFAULT_TIMEOUT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            extra_roots: Vec::new(),
            user_agent: concat!("iam-clients/", env!("CARGO_PKG_VERSION")).to_owned(),
            resolve: Vec::new(),
        }
    }
}

impl HttpOptions {
    /// The default limit on a whole request, from connecting to the last byte of the answer.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default limit on connecting (TCP and TLS).
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    /// Limits a whole request, from connecting to the last byte of the answer.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Limits connecting (TCP and TLS).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts more certificate authorities (or self-signed certificates), given in PEM, besides
    /// the system's roots: e.g. the simulator's certificate. Every certificate in the PEM is
    /// trusted; a PEM that holds none is refused.
    pub fn trust_pem(mut self, pem: &[u8]) -> Result<Self, ConfigError> {
        let certs =
            reqwest::Certificate::from_pem_bundle(pem).map_err(ConfigError::InvalidCertificate)?;
        if certs.is_empty() {
            return Err(ConfigError::NoCertificateInPem);
        }
        self.extra_roots.extend(certs);
        Ok(self)
    }

    /// Sets the `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Sends requests for `host` to `addr` instead of resolving it (the port of the URL is
    /// used, not `addr`'s). For a server that reads the tenant from the host name, such as
    /// mID's SSMS URL on the simulator: `acme.localhost` -> 127.0.0.1.
    pub fn resolve(mut self, host: impl Into<String>, addr: std::net::SocketAddr) -> Self {
        self.resolve.push((host.into(), addr));
        self
    }

    /// Builds the client: rustls with the ring provider, the system's roots plus any added, no
    /// redirects followed.
    pub fn build(&self) -> Result<reqwest::Client, ConfigError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(self.user_agent.clone());
        for cert in &self.extra_roots {
            builder = builder.add_root_certificate(cert.clone());
        }
        for (host, addr) in &self.resolve {
            builder = builder.resolve(host, *addr);
        }
        builder.build().map_err(ConfigError::Http)
    }
}

/// reqwest is built without a bundled rustls crypto provider; install ring as the process
/// default unless the application already chose one.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race with another installer is fine: a provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_defaults_and_refuses_garbage_pem() {
        HttpOptions::default().build().unwrap();
        let err = HttpOptions::default()
            .trust_pem(b"not a certificate")
            .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::NoCertificateInPem | ConfigError::InvalidCertificate(_)
            ),
            "{err}"
        );
    }
}
