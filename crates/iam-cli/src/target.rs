//! From `--provider` and friends to a provider client, and the credentials.

use std::time::Duration;

use iam_clients::{
    ClientCredentials, Connection, EntrustAdminAuth, EntrustClient, IdentityProvider, MidClient,
    NexwayClient, NexwayJwt, RetryPolicy, SecretString,
};

use crate::cli::{ProviderArg, Target};
use crate::exit::Failure;

pub const TOKEN_ENV: &str = "IAM_TOKEN";
pub const CLIENT_ID_ENV: &str = "IAM_CLIENT_ID";
pub const CLIENT_SECRET_ENV: &str = "IAM_CLIENT_SECRET";
pub const ENTRUST_APPLICATION_ID_ENV: &str = "IAM_ENTRUST_APPLICATION_ID";
pub const ENTRUST_SHARED_SECRET_ENV: &str = "IAM_ENTRUST_SHARED_SECRET";
pub const NEXWAY_REALM_ENV: &str = "IAM_NEXWAY_REALM";
pub const NEXWAY_CLIENT_SECRET_ENV: &str = "IAM_NEXWAY_CLIENT_SECRET";

/// A client for the target, a description of where it points (for messages), and the target
/// as data (for journals).
pub struct Built {
    pub provider: Box<dyn IdentityProvider>,
    pub description: String,
    pub target: crate::journal::Target,
    /// Where the credentials come from, for messages: `IAM_TOKEN`, `--token-file PATH`, ...
    pub credentials: String,
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

/// Where the token comes from, decided from the flags and the environment.
#[derive(Debug, PartialEq)]
enum Credentials {
    /// `--token-url` with IAM_CLIENT_ID / IAM_CLIENT_SECRET.
    OAuth2 { client_id: String, secret: String },
    /// `--token-file`.
    TokenFile,
    /// IAM_TOKEN.
    Token(String),
    /// Entrust's authenticate endpoint, with IAM_ENTRUST_APPLICATION_ID / _SHARED_SECRET.
    EntrustAdmin {
        application_id: String,
        secret: String,
    },
    /// Nexway's token endpoint, with IAM_NEXWAY_REALM / _CLIENT_SECRET.
    NexwayJwt { realm: String, secret: String },
    /// None given, and none needed (a dry run sends nothing).
    Placeholder,
}

/// The one place that decides where credentials come from. Flags win over the environment;
/// IAM_TOKEN wins over the vendor's token endpoint; a half-given pair is an error naming the
/// missing variable. `env` reads a variable (empty counts as unset).
fn choose_credentials(
    provider: ProviderArg,
    token_url: bool,
    token_file: bool,
    allow_none: bool,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Credentials, String> {
    let pair = |a: &str, b: &str, why: &str| -> Result<Option<(String, String)>, String> {
        match (env(a), env(b)) {
            (Some(x), Some(y)) => Ok(Some((x, y))),
            (None, None) => Ok(None),
            (Some(_), None) => Err(format!("{a} is set but {b} is not: {why} needs both")),
            (None, Some(_)) => Err(format!("{b} is set but {a} is not: {why} needs both")),
        }
    };
    if token_url {
        return match (env(CLIENT_ID_ENV), env(CLIENT_SECRET_ENV)) {
            (Some(client_id), Some(secret)) => Ok(Credentials::OAuth2 { client_id, secret }),
            _ => Err(format!(
                "--token-url needs {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} in the environment"
            )),
        };
    }
    if token_file {
        return Ok(Credentials::TokenFile);
    }
    if let Some(token) = env(TOKEN_ENV) {
        return Ok(Credentials::Token(token));
    }
    let vendor = match provider {
        ProviderArg::Entrust => pair(
            ENTRUST_APPLICATION_ID_ENV,
            ENTRUST_SHARED_SECRET_ENV,
            "Entrust's authenticate endpoint",
        )?
        .map(|(application_id, secret)| Credentials::EntrustAdmin {
            application_id,
            secret,
        }),
        ProviderArg::Nexway => pair(
            NEXWAY_REALM_ENV,
            NEXWAY_CLIENT_SECRET_ENV,
            "Nexway's token endpoint",
        )?
        .map(|(realm, secret)| Credentials::NexwayJwt { realm, secret }),
        ProviderArg::MidSsms | ProviderArg::MidShift => None,
    };
    match vendor {
        Some(credentials) => Ok(credentials),
        None if allow_none => Ok(Credentials::Placeholder),
        None => {
            let own = match provider {
                ProviderArg::Entrust => {
                    format!(", or {ENTRUST_APPLICATION_ID_ENV} and {ENTRUST_SHARED_SECRET_ENV}")
                }
                ProviderArg::Nexway => {
                    format!(", or {NEXWAY_REALM_ENV} and {NEXWAY_CLIENT_SECRET_ENV}")
                }
                _ => String::new(),
            };
            Err(format!(
                "no credentials: set {TOKEN_ENV}, or pass --token-file PATH, or --token-url URL with {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}{own}"
            ))
        }
    }
}

impl Credentials {
    /// Where they come from, for a message that says which were refused (no secret in it).
    fn source(&self, target: &Target) -> String {
        match self {
            Credentials::OAuth2 { .. } => format!(
                "{CLIENT_ID_ENV}/{CLIENT_SECRET_ENV} (--token-url {})",
                target.token_url.as_deref().unwrap_or_default()
            ),
            Credentials::TokenFile => format!(
                "--token-file {}",
                target
                    .token_file
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""))
                    .display()
            ),
            Credentials::Token(_) => TOKEN_ENV.to_owned(),
            Credentials::EntrustAdmin { .. } => format!(
                "{ENTRUST_APPLICATION_ID_ENV}/{ENTRUST_SHARED_SECRET_ENV} (Entrust's authenticate endpoint)"
            ),
            Credentials::NexwayJwt { .. } => {
                format!("{NEXWAY_REALM_ENV}/{NEXWAY_CLIENT_SECRET_ENV} (Nexway's token endpoint)")
            }
            Credentials::Placeholder => "no credentials (a dry run)".to_owned(),
        }
    }
}

/// The connection's credentials (see [`choose_credentials`]), and where they come from.
/// `allow_none` (dry runs) puts a placeholder token when none is given, since nothing will be
/// sent.
fn credentials(
    target: &Target,
    url: &str,
    connection: Connection,
    allow_none: bool,
) -> Result<(Connection, String), Failure> {
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let choice = choose_credentials(
        target.provider,
        target.token_url.is_some(),
        target.token_file.is_some(),
        allow_none,
        env,
    )
    .map_err(Failure::usage)?;
    let source = choice.source(target);
    let connection = match choice {
        Credentials::OAuth2 { client_id, secret } => {
            let token_url = target.token_url.as_deref().unwrap_or_default();
            let source = ClientCredentials::new(
                token_url,
                client_id,
                SecretString::new(secret),
                connection.http_options(),
            )?;
            connection.token_source(source)
        }
        Credentials::TokenFile => {
            let path = target
                .token_file
                .as_deref()
                .unwrap_or(std::path::Path::new(""));
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--token-file {}: {e}", path.display())))?;
            let token = text.lines().next().unwrap_or_default().trim().to_owned();
            if token.is_empty() {
                return Err(Failure::usage(format!(
                    "--token-file {}: the file holds no token",
                    path.display()
                )));
            }
            connection.bearer(token)
        }
        Credentials::Token(token) => connection.bearer(token),
        Credentials::EntrustAdmin {
            application_id,
            secret,
        } => {
            let source = EntrustAdminAuth::new(
                url,
                application_id,
                SecretString::new(secret),
                connection.http_options(),
            )?;
            connection.token_source(source)
        }
        Credentials::NexwayJwt { realm, secret } => {
            let source = NexwayJwt::new(
                url,
                realm,
                SecretString::new(secret),
                connection.http_options(),
            )?;
            connection.token_source(source)
        }
        Credentials::Placeholder => connection.bearer("dry-run-placeholder"),
    };
    Ok((connection, source))
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
    build_with_retry(target, allow_no_credentials, RetryPolicy::default())
}

/// [`build`] with a retry policy (`iam import` paces and retries rate-limited rows itself).
pub fn build_with_retry(
    target: &Target,
    allow_no_credentials: bool,
    retry: RetryPolicy,
) -> Result<Built, Failure> {
    let url = base_url(target)?;
    let mut connection = Connection::new(url.clone())
        .timeout(Duration::from_secs(target.timeout.max(1)))
        .retry(retry);
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
    let (connection, credentials) = credentials(target, &url, connection, allow_no_credentials)?;
    let mut tenant_of_target: Option<String> = None;
    let (provider, description): (Box<dyn IdentityProvider>, String) = match target.provider {
        ProviderArg::Entrust => (
            Box::new(EntrustClient::new(connection)?),
            format!("entrust at {url}"),
        ),
        ProviderArg::MidSsms => {
            // An explicit --base-url is taken as given, tenant label in its host or not.
            let client = MidClient::ssms(connection)?;
            let description = match client.tenant() {
                "" => format!("mid-ssms at {url}"),
                tenant => format!("mid-ssms at {url} (tenant {tenant})"),
            };
            tenant_of_target = Some(client.tenant().to_owned());
            (Box::new(client), description)
        }
        ProviderArg::MidShift => {
            // SHIFT puts the tenant in the path of every call: a base URL does not name it.
            let tenant = target
                .tenant
                .clone()
                .ok_or_else(|| {
                    Failure::usage(
                        "mid-shift needs --tenant (SHIFT puts the tenant in the path of each call, so --base-url does not replace it)",
                    )
                })?;
            tenant_of_target = Some(tenant.clone());
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
    let journal_target = crate::journal::Target::new(
        &provider.kind().to_string(),
        &url,
        tenant_of_target.as_deref(),
    );
    Ok(Built {
        provider,
        description,
        target: journal_target,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_credentials_come_from() {
        use Credentials as C;
        use ProviderArg::{Entrust, MidShift, Nexway};
        let e = |app: &str, secret: &str| C::EntrustAdmin {
            application_id: app.into(),
            secret: secret.into(),
        };
        let n = |realm: &str, secret: &str| C::NexwayJwt {
            realm: realm.into(),
            secret: secret.into(),
        };
        // (provider, --token-url, --token-file, dry run, environment, outcome or error excerpt)
        type Row = (
            ProviderArg,
            bool,
            bool,
            bool,
            &'static [(&'static str, &'static str)],
            Result<Credentials, &'static str>,
        );
        let table: Vec<Row> = vec![
            (
                Entrust,
                false,
                false,
                false,
                &[("IAM_TOKEN", "t")],
                Ok(C::Token("t".into())),
            ),
            (
                Entrust,
                false,
                false,
                false,
                &[
                    ("IAM_ENTRUST_APPLICATION_ID", "app"),
                    ("IAM_ENTRUST_SHARED_SECRET", "s"),
                ],
                Ok(e("app", "s")),
            ),
            (
                Entrust,
                false,
                false,
                false,
                &[
                    ("IAM_TOKEN", "t"),
                    ("IAM_ENTRUST_APPLICATION_ID", "app"),
                    ("IAM_ENTRUST_SHARED_SECRET", "s"),
                ],
                Ok(C::Token("t".into())),
            ),
            (
                Entrust,
                false,
                false,
                false,
                &[("IAM_ENTRUST_APPLICATION_ID", "app")],
                Err("IAM_ENTRUST_APPLICATION_ID is set but IAM_ENTRUST_SHARED_SECRET is not"),
            ),
            (
                Entrust,
                false,
                false,
                false,
                &[("IAM_ENTRUST_SHARED_SECRET", "s")],
                Err("IAM_ENTRUST_SHARED_SECRET is set but IAM_ENTRUST_APPLICATION_ID is not"),
            ),
            (
                Entrust,
                false,
                false,
                false,
                &[],
                Err("or IAM_ENTRUST_APPLICATION_ID and IAM_ENTRUST_SHARED_SECRET"),
            ),
            (
                Nexway,
                false,
                false,
                false,
                &[("IAM_NEXWAY_REALM", "r"), ("IAM_NEXWAY_CLIENT_SECRET", "s")],
                Ok(n("r", "s")),
            ),
            (
                Nexway,
                false,
                false,
                false,
                &[("IAM_NEXWAY_REALM", "r")],
                Err("IAM_NEXWAY_REALM is set but IAM_NEXWAY_CLIENT_SECRET is not"),
            ),
            (
                Nexway,
                false,
                false,
                false,
                &[
                    ("IAM_ENTRUST_APPLICATION_ID", "app"),
                    ("IAM_ENTRUST_SHARED_SECRET", "s"),
                ],
                Err("or IAM_NEXWAY_REALM and IAM_NEXWAY_CLIENT_SECRET"),
            ),
            (
                MidShift,
                false,
                false,
                false,
                &[("IAM_NEXWAY_REALM", "r"), ("IAM_NEXWAY_CLIENT_SECRET", "s")],
                Err("no credentials"),
            ),
            (
                Nexway,
                true,
                false,
                false,
                &[
                    ("IAM_CLIENT_ID", "id"),
                    ("IAM_CLIENT_SECRET", "cs"),
                    ("IAM_TOKEN", "t"),
                ],
                Ok(C::OAuth2 {
                    client_id: "id".into(),
                    secret: "cs".into(),
                }),
            ),
            (
                Nexway,
                true,
                false,
                false,
                &[("IAM_NEXWAY_REALM", "r"), ("IAM_NEXWAY_CLIENT_SECRET", "s")],
                Err("--token-url needs IAM_CLIENT_ID"),
            ),
            (
                Entrust,
                false,
                true,
                false,
                &[("IAM_TOKEN", "t")],
                Ok(C::TokenFile),
            ),
            (Nexway, false, false, true, &[], Ok(C::Placeholder)),
            (
                Nexway,
                false,
                false,
                true,
                &[("IAM_NEXWAY_REALM", "r")],
                Err("IAM_NEXWAY_REALM is set but IAM_NEXWAY_CLIENT_SECRET is not"),
            ),
        ];
        for (i, (provider, url, file, dry, env, expected)) in table.into_iter().enumerate() {
            let lookup = |name: &str| {
                env.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            };
            let got = choose_credentials(provider, url, file, dry, lookup);
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "row {i}"),
                (Err(got), Err(excerpt)) => {
                    assert!(got.contains(excerpt), "row {i}: {got}");
                    assert!(
                        !got.contains("\"s\"") && !got.contains("=s"),
                        "row {i}: a value shows: {got}"
                    );
                }
                (got, expected) => panic!("row {i}: got {got:?}, expected {expected:?}"),
            }
        }
    }
}
