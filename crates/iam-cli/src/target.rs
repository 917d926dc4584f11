//! From `--provider` and friends to a provider client, and the credentials.

use std::time::Duration;

use iam_clients::{
    ClientCredentials, Connection, EntrustClient, IdentityProvider, MidClient, NexwayClient,
    SecretString,
};

use crate::cli::{ProviderArg, Target};
use crate::exit::Failure;

pub const TOKEN_ENV: &str = "IAM_TOKEN";
pub const CLIENT_ID_ENV: &str = "IAM_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "IAM_CLIENT_SECRET";

/// A client for the target, and a description of where it points (for messages and journals).
pub struct Built {
    pub provider: Box<dyn IdentityProvider>,
    pub description: String,
}

fn need<'a>(value: &'a Option<String>, flag: &str, provider: &str) -> Result<&'a str, Failure> {
    value
        .as_deref()
        .ok_or_else(|| Failure::usage(format!("{provider} needs {flag} (or --base-url)")))
}

/// The base URL: `--base-url`, or the documented server from the provider's variables.
pub fn base_url(target: &Target) -> Result<String, Failure> {
    let from_variables =
        |r: Result<String, iam_clients::Error>| r.map_err(|e| Failure::usage(e.to_string()));
    if let Some(url) = &target.base_url {
        return Ok(url.clone());
    }
    match target.provider {
        ProviderArg::Entrust => from_variables(EntrustClient::account_url(
            need(&target.domain, "--domain", "entrust")?,
            need(&target.region, "--region", "entrust")?,
        )),
        ProviderArg::MidSsms => from_variables(MidClient::ssms_url(
            need(&target.tenant, "--tenant", "mid-ssms")?,
            need(&target.hostname, "--hostname", "mid-ssms")?,
        )),
        ProviderArg::MidShift => from_variables(MidClient::shift_url(need(
            &target.hostname,
            "--hostname",
            "mid-shift",
        )?)),
        ProviderArg::Nexway => Ok(NexwayClient::DEFAULT_BASE_URL.to_owned()),
    }
}

/// The connection's credentials: OAuth2, a token file, or IAM_TOKEN. `allow_none` (dry runs)
/// puts a placeholder token when none is given, since nothing will be sent.
fn credentials(
    target: &Target,
    connection: Connection,
    allow_none: bool,
) -> Result<Connection, Failure> {
    if let Some(token_url) = &target.token_url {
        let id = std::env::var(CLIENT_ID_ENV).map_err(|_| {
            Failure::usage(format!(
                "--token-url needs {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} in the environment"
            ))
        })?;
        let secret = std::env::var(CLIENT_SECRET_ENV).map_err(|_| {
            Failure::usage(format!(
                "--token-url needs {CLIENT_SECRET_ENV} in the environment"
            ))
        })?;
        let source = ClientCredentials::new(
            token_url,
            id,
            SecretString::new(secret),
            connection.http_options(),
        )?;
        return Ok(connection.token_source(source));
    }
    if let Some(path) = &target.token_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("--token-file {}: {e}", path.display())))?;
        let token = text.lines().next().unwrap_or_default().trim().to_owned();
        if token.is_empty() {
            return Err(Failure::usage(format!(
                "--token-file {}: the file holds no token",
                path.display()
            )));
        }
        return Ok(connection.bearer(token));
    }
    match std::env::var(TOKEN_ENV) {
        Ok(token) if !token.trim().is_empty() => Ok(connection.bearer(token.trim().to_owned())),
        _ if allow_none => Ok(connection.bearer("dry-run-placeholder")),
        _ => Err(Failure::usage(format!(
            "no credentials: set {TOKEN_ENV}, or pass --token-file PATH, or --token-url URL with {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}"
        ))),
    }
}

/// `HOST:PORT:ADDR` (curl's --resolve); ADDR may be `[v6]`.
fn parse_resolve(entry: &str) -> Result<(String, std::net::SocketAddr), Failure> {
    let bad = || {
        Failure::usage(format!(
            "--resolve `{entry}`: expected HOST:PORT:ADDR, e.g. acme.sandbox.localhost:8080:127.0.0.1"
        ))
    };
    let mut parts = entry.splitn(3, ':');
    let (host, port, addr) = (
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
        parts.next().ok_or_else(bad)?,
    );
    let port: u16 = port.parse().map_err(|_| bad())?;
    let ip: std::net::IpAddr = addr
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), std::net::SocketAddr::new(ip, port)))
}

/// Builds the provider client the flags describe.
pub fn build(target: &Target, allow_no_credentials: bool) -> Result<Built, Failure> {
    let url = base_url(target)?;
    let mut connection =
        Connection::new(url.clone()).timeout(Duration::from_secs(target.timeout.max(1)));
    if let Some(path) = &target.ca_cert {
        let pem = std::fs::read(path)
            .map_err(|e| Failure::usage(format!("--ca-cert {}: {e}", path.display())))?;
        connection = connection
            .trust_pem(&pem)
            .map_err(|e| Failure::usage(format!("--ca-cert {}: {e}", path.display())))?;
    }
    for entry in &target.resolve {
        let (host, addr) = parse_resolve(entry)?;
        connection = connection.resolve(host, addr);
    }
    let connection = credentials(target, connection, allow_no_credentials)?;
    let (provider, description): (Box<dyn IdentityProvider>, String) = match target.provider {
        ProviderArg::Entrust => (
            Box::new(EntrustClient::new(connection)?),
            format!("entrust at {url}"),
        ),
        ProviderArg::MidSsms => {
            let client = MidClient::ssms(connection)?;
            let description = format!("mid-ssms at {url} (tenant {})", client.tenant());
            (Box::new(client), description)
        }
        ProviderArg::MidShift => {
            let tenant = need(&target.tenant, "--tenant", "mid-shift")?.to_owned();
            (
                Box::new(MidClient::shift(connection, tenant.clone())?),
                format!("mid-shift at {url} (tenant {tenant})"),
            )
        }
        ProviderArg::Nexway => (
            Box::new(NexwayClient::new(connection)?),
            format!("nexway at {url}"),
        ),
    };
    Ok(Built {
        provider,
        description,
    })
}
