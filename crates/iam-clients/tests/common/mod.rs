//! A simulator per test, and a client for each of the four endpoints.

#![allow(dead_code)]

use std::time::Duration;

use iam_clients::{
    Connection, EntrustClient, IdentityProvider, MidClient, NewUser, NexwayClient, ProviderKind,
    RetryPolicy,
};
use iam_sandbox::{Config, OAuthClient, RunningSandbox, Sandbox, ServeOptions};

pub const TOKEN: &str = "tok-SECRET-contract";
pub const CLIENT_SECRET: &str = "cs-SECRET-contract";

pub struct Env {
    pub sandbox: Sandbox,
    pub running: RunningSandbox,
}

pub async fn env_with(tls: bool, token_lifetime: Duration) -> Env {
    let sandbox = Sandbox::new(Config {
        token: Some(TOKEN.into()),
        oauth: OAuthClient {
            client_id: "contract-tests".into(),
            client_secret: CLIENT_SECRET.into(),
            token_lifetime,
        },
        ..Config::default()
    })
    .unwrap();
    let running = sandbox
        .start(ServeOptions {
            tls,
            ..ServeOptions::default()
        })
        .await
        .unwrap();
    Env { sandbox, running }
}

pub async fn env() -> Env {
    env_with(false, Duration::from_secs(300)).await
}

/// Fast retries for tests.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        default_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    }
}

impl Env {
    pub fn scheme(&self) -> &'static str {
        if self.running.cert_pem().is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// A connection for `kind`: SSMS and Entrust put the tenant `acme` in the host name.
    pub fn connection(&self, kind: ProviderKind) -> Connection {
        let port = self.running.addr().port();
        let mut connection = match kind {
            ProviderKind::Entrust | ProviderKind::MidSsms => {
                Connection::new(format!("{}://acme.sandbox.localhost:{port}", self.scheme()))
                    .resolve("acme.sandbox.localhost", self.running.addr())
            }
            _ => Connection::new(self.running.url()),
        };
        if let Some(pem) = self.running.cert_pem() {
            connection = connection.trust_pem(pem.as_bytes()).unwrap();
        }
        connection.bearer(TOKEN).retry(quick_retry())
    }

    pub fn client_with(
        &self,
        kind: ProviderKind,
        connection: Connection,
    ) -> Box<dyn IdentityProvider> {
        match kind {
            ProviderKind::Entrust => Box::new(EntrustClient::new(connection).unwrap()),
            ProviderKind::MidSsms => Box::new(MidClient::ssms(connection).unwrap()),
            ProviderKind::MidShift => Box::new(MidClient::shift(connection, "acme").unwrap()),
            ProviderKind::Nexway => Box::new(NexwayClient::new(connection).unwrap()),
        }
    }

    pub fn client(&self, kind: ProviderKind) -> Box<dyn IdentityProvider> {
        self.client_with(kind, self.connection(kind))
    }

    /// How many users the simulator holds for `kind` (tenant `acme`, or Nexway's one).
    pub fn users(&self, kind: ProviderKind) -> usize {
        use iam_sandbox::Provider;
        match kind {
            ProviderKind::Entrust => self.sandbox.users(Provider::Entrust, "acme").len(),
            ProviderKind::MidSsms | ProviderKind::MidShift => {
                self.sandbox.users(Provider::Mid, "acme").len()
            }
            ProviderKind::Nexway => self.sandbox.users(Provider::Nexway, "default").len(),
        }
    }
}

/// A user every field of which `kind` takes; the username is `user{n}-{kind}`.
pub fn user_for(kind: ProviderKind, n: u32) -> NewUser {
    let builder = NewUser::builder()
        .username(format!("user{n}-{kind}"))
        .email(format!("user{n}-{kind}@example.com"))
        .first_name("Grace")
        .last_name("Hopper")
        .enabled(true);
    match kind {
        ProviderKind::Entrust => builder.mobile("+16138561234").build(),
        ProviderKind::MidSsms | ProviderKind::MidShift => builder
            .password("pw-SECRET-mid")
            .role("auditor")
            .group("ks-users")
            .attribute("digitaniumUserIdOnboardingType", "letter")
            .build(),
        ProviderKind::Nexway => builder.password("pw-SECRET-nexway").role("admin").build(),
    }
}

pub const ALL: [ProviderKind; 4] = ProviderKind::ALL;

/// What a TRACE-level subscriber, installed for this thread while the guard lives, writes.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs a TRACE-level subscriber (span closes included) for this thread, writing into the
/// returned [`Captured`] while the guard lives.
pub fn capture_traces() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}
