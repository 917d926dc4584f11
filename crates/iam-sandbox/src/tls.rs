//! The self-signed certificate `--tls` serves.

use std::sync::Arc;

use crate::SandboxError;

/// A rustls server config (ring) with a fresh self-signed certificate for `localhost`,
/// `*.sandbox.localhost`, `127.0.0.1` and `::1`, and the certificate in PEM for clients to trust.
pub(crate) fn self_signed() -> Result<(rustls::ServerConfig, String), SandboxError> {
    let tls = |e: &dyn std::fmt::Display| SandboxError::Tls(e.to_string());
    let names = vec![
        "localhost".to_owned(),
        "*.sandbox.localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let certified = rcgen::generate_simple_self_signed(names).map_err(|e| tls(&e))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| tls(&e))?
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((config, certified.cert.pem()))
}
