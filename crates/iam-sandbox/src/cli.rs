//! The command line of `iam-sandbox` (also `iam sandbox`).

use std::net::IpAddr;
use std::path::PathBuf;

use iam_core::SecretString;

use crate::{Config, Sandbox, SandboxError, ServeOptions};

/// The environment variable that sets the token (never a flag: argv is visible in `ps`).
pub const TOKEN_ENV: &str = "IAM_SANDBOX_TOKEN";
/// The environment variable that sets the OAuth2 client secret of `POST /oauth/token`.
pub const CLIENT_SECRET_ENV: &str = "IAM_SANDBOX_CLIENT_SECRET";
/// The environment variable that sets the shared secret of the Entrust Administration API
/// application (`POST /api/web/v1/adminapi/authenticate`).
pub const ENTRUST_SHARED_SECRET_ENV: &str = "IAM_SANDBOX_ENTRUST_SHARED_SECRET";
/// The environment variable that sets the Nexway client secret (`POST /iam/tokens`).
pub const NEXWAY_CLIENT_SECRET_ENV: &str = "IAM_SANDBOX_NEXWAY_CLIENT_SECRET";

/// Runs a local simulator of the Entrust IDaaS, mID Provider and Nexway IAM create-user APIs.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "\
The token every route accepts comes from IAM_SANDBOX_TOKEN, or is made up at start and printed.
POST /oauth/token issues tokens too (OAuth2 client credentials, client_id iam-sandbox; the secret
comes from IAM_SANDBOX_CLIENT_SECRET or is made up and printed). So do the vendors' own token
endpoints: Entrust's (application id iam-sandbox-admin-app, shared secret from
IAM_SANDBOX_ENTRUST_SHARED_SECRET) and Nexway's (realm iam-sandbox, client secret from
IAM_SANDBOX_NEXWAY_CLIENT_SECRET); made up and printed when not set.

Routes:
  POST /api/web/v3/users                  Entrust IDaaS (account: first label of the Host)
  POST /digitanium/v4/users               mID Provider SSMS (tenant: first label of the Host)
  POST /auth/realms/{tenantId}/v3_user    mID Provider SHIFT
  POST /iam/users                         Nexway IAM
  GET  /openapi/{entrust-idaas,mid-provider,nexway-iam}.yaml
  POST /oauth/token                       OAuth2 client-credentials grant (RFC 6749 4.4)
  POST /api/web/v1/adminapi/authenticate  Entrust: application id + shared secret -> authToken
  POST /iam/tokens                        Nexway: realm + client secret (or refresh token) -> JWT
  GET|POST|DELETE /_sandbox/variations    vary success answers: sparse, nulls, unknown-enums,
                                          extra-properties (Bearer token)
  GET|DELETE /_sandbox/users              created users (Bearer token)
  DELETE /_sandbox/tokens                 revoke the tokens /oauth/token issued (Bearer token)
  GET|POST|DELETE /_sandbox/faults        faults (Bearer token)

Examples:
  iam-sandbox --port 0
  IAM_SANDBOX_TOKEN=dev iam-sandbox --port 8080 --state users.json
  iam-sandbox --tls --cert-out sandbox.pem
  iam-sandbox --port 0 --rate-limit 20 --burst 20       # 429 + Retry-After beyond 20 requests/s
  iam-sandbox --port 0 --rate-limit 20 --burst 2 --no-retry-after   # a strict gateway, no Retry-After
  iam-sandbox --port 0 --rate-limit 10 --window 10      # 100 per 10 s window; Retry-After: the rest of it
  curl -H 'Authorization: Bearer dev' -d '{\"route\":\"nexway\",\"action\":{\"kind\":\"status\",\"status\":503,\"retry_after\":1},\"times\":2}' \\
       http://127.0.0.1:8080/_sandbox/faults
  curl -H 'Authorization: Bearer dev' -d '{\"route\":\"nexway\",\"rate_limit\":{\"per_second\":20,\"burst\":20}}' \\
       http://127.0.0.1:8080/_sandbox/faults")]
pub struct Args {
    /// The address to listen on. Plain HTTP is served on loopback only; any other address needs --tls.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The port to listen on; 0 picks a free one (printed at start).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Keep created users in FILE across restarts (JSON, written atomically). No secret is stored.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate for localhost, *.sandbox.localhost (a tenant in the host name: acme.sandbox.localhost), 127.0.0.1 and ::1, made at start.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: where to write the certificate (PEM) for clients to trust
    /// [default: `iam-sandbox-PORT.pem` in the temporary folder].
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub cert_out: Option<PathBuf>,
    /// Admit at most N requests per second on each create route (a burst of --burst); beyond,
    /// answer 429 with Retry-After, as a provider's gateway does.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_limit: Option<u32>,
    /// With --rate-limit: requests admitted at once after a quiet spell [default: N] (a token
    /// bucket; 1 refuses any two requests closer than 1/N s).
    #[arg(long, value_name = "B", requires = "rate_limit", conflicts_with = "window", value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,
    /// With --rate-limit: fixed windows of SECS seconds, N x SECS requests each, instead of a
    /// token bucket; a 429's Retry-After is the rest of the window.
    #[arg(long, value_name = "SECS", requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..))]
    pub window: Option<u32>,
    /// With --rate-limit: answer 429 without Retry-After.
    #[arg(long, requires = "rate_limit")]
    pub no_retry_after: bool,
    /// Delay each create request by MIN to MAX milliseconds (evenly, a fixed sequence) before
    /// the rate limit sees it, as a network does: requests sent evenly then arrive unevenly,
    /// sometimes out of order (e.g. 1-5).
    #[arg(long, value_name = "MIN-MAX", value_parser = crate::ArrivalJitter::parse)]
    pub arrival_jitter: Option<crate::ArrivalJitter>,
}

/// Starts the simulator, prints where it listens and its token, and serves until Ctrl-C;
/// then writes the state file.
pub async fn run(args: Args) -> Result<(), SandboxError> {
    let token = match std::env::var(TOKEN_ENV) {
        Ok(token) => Some(SecretString::new(token)),
        Err(_) => None,
    };
    let mut oauth = crate::OAuthClient::default();
    if let Ok(secret) = std::env::var(CLIENT_SECRET_ENV) {
        oauth.client_secret = SecretString::new(secret);
    }
    let mut entrust_app = crate::EntrustAdminApp::default();
    if let Ok(secret) = std::env::var(ENTRUST_SHARED_SECRET_ENV) {
        entrust_app.shared_secret = SecretString::new(secret);
    }
    let mut nexway_realm = crate::NexwayRealm::default();
    if let Ok(secret) = std::env::var(NEXWAY_CLIENT_SECRET_ENV) {
        nexway_realm.client_secret = SecretString::new(secret);
    }
    let sandbox = Sandbox::new(Config {
        token,
        state_file: args.state.clone(),
        oauth,
        entrust_app,
        nexway_realm,
        rate_limit: args.rate_limit.map(|n| crate::RateLimit {
            per_second: n,
            burst: args.burst,
            window_secs: args.window,
            retry_after: !args.no_retry_after,
        }),
        arrival_jitter: args.arrival_jitter,
    })?;
    let running = sandbox
        .start(ServeOptions {
            host: args.host,
            port: args.port,
            tls: args.tls,
        })
        .await?;
    println!("iam-sandbox listening on {}", running.url());
    println!(
        "  token: {}   (send Authorization: Bearer <token>; set {TOKEN_ENV} to choose it)",
        sandbox.token().expose_secret()
    );
    println!(
        "  specs: {}/openapi/{{entrust-idaas,mid-provider,nexway-iam}}.yaml",
        running.url()
    );
    println!(
        "  entrust: application id {}, shared secret {}   (set {ENTRUST_SHARED_SECRET_ENV} to choose it)",
        sandbox.entrust_app().application_id,
        sandbox.entrust_app().shared_secret.expose_secret()
    );
    println!(
        "  nexway:  realm {}, client secret {}   (set {NEXWAY_CLIENT_SECRET_ENV} to choose it)",
        sandbox.nexway_realm().realm,
        sandbox.nexway_realm().client_secret.expose_secret()
    );
    if let Some(path) = &args.state {
        println!("  state: {}", path.display());
    }
    if let Some(pem) = running.cert_pem() {
        let path = args.cert_out.clone().unwrap_or_else(|| {
            std::env::temp_dir().join(format!("iam-sandbox-{}.pem", running.addr().port()))
        });
        std::fs::write(&path, pem).map_err(|e| {
            SandboxError::Tls(format!(
                "cannot write the certificate to {}: {e}",
                path.display()
            ))
        })?;
        println!("  cert:  {}   (trust this certificate)", path.display());
    }
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    running.shutdown().await
}
