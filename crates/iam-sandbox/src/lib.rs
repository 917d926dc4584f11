//! A local simulator of the three providers' create-user APIs, for tests, demos and benchmarks.
//!
//! It serves the four routes on one listener (`POST /api/web/v3/users`, `POST
//! /digitanium/v4/users`, `POST /auth/realms/{tenantId}/v3_user`, `POST /iam/users`) and answers
//! as the vendors' documents say, and Entrust's lookup of a user by user ID (`POST
//! /api/web/v3/users/userid`), answered from the users it created, with their ids: the only
//! lookup whose answer a vendor publishes. It is driven by the same specs as the clients: a request is
//! checked by decoding it into the *generated* request type, so a spec change moves the clients
//! and the simulator together, and the specs are served at `/openapi/{provider}.yaml` for
//! spec-driven tools.
//!
//! Faults ([`Fault`]) are set per route and are deterministic: latency, a chosen status, a
//! malformed, truncated, empty or very large body, a dropped connection before or after the
//! request is read, and "fail the next N, then succeed".
//!
//! ```no_run
//! # async fn run() -> Result<(), iam_sandbox::SandboxError> {
//! use iam_sandbox::{Config, Fault, Route, Sandbox, ServeOptions};
//!
//! let sandbox = Sandbox::new(Config::default())?;
//! let running = sandbox.start(ServeOptions::default()).await?;
//! println!("{} with token {}", running.url(), sandbox.token().expose_secret());
//! sandbox.set_fault(Route::Nexway, Fault::status(503).retry_after(1).times(2));
//! # Ok(()) }
//! ```
//!
//! `POST /oauth/token` issues tokens for the client-credentials grant (RFC 6749 §4.4) to the
//! client in [`Config::oauth`]; every route accepts them until they expire or are revoked.
//!
//! Secrets are never kept: created users are stored without passwords or activation codes.

pub mod answers;
mod app;
mod clock;
mod create;
pub mod faults;
mod jitter;
mod lookup;
mod oauth;
pub mod ratelimit;
mod route;
mod serve;
mod store;
mod tls;
mod vendor_tokens;

pub mod cli;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, header};
use iam_core::SecretString;
use serde_json::Value;

pub use answers::Variation;
pub use app::{app, tenant_from_host};
pub use faults::{Action, ErrorBody, Fault};
pub use jitter::ArrivalJitter;
pub use ratelimit::RateLimit;
pub use route::{Provider, Route};
pub use serve::{RunningSandbox, ServeOptions};
pub use vendor_tokens::{EntrustAdminApp, NexwayRealm};

/// How to set a simulator up.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The token every route accepts; a random one when `None`.
    pub token: Option<SecretString>,
    /// Keep created users in this file across restarts (written atomically).
    pub state_file: Option<PathBuf>,
    /// The OAuth2 client-credentials client `POST /oauth/token` accepts; its token lifetime is
    /// also that of the vendors' token endpoints.
    pub oauth: OAuthClient,
    /// The Entrust Administration API application `POST /api/web/v1/adminapi/authenticate` knows.
    pub entrust_app: EntrustAdminApp,
    /// The Nexway realm and client secret `POST /iam/tokens` knows.
    pub nexway_realm: NexwayRealm,
    /// A rate limit on every create route (each its own), as `--rate-limit` sets.
    pub rate_limit: Option<RateLimit>,
    /// A delay before each create request reaches the rate limit, as `--arrival-jitter` sets.
    pub arrival_jitter: Option<ArrivalJitter>,
}

/// The one client `POST /oauth/token` knows, and the lifetime of the tokens it issues.
#[derive(Clone, Debug)]
pub struct OAuthClient {
    /// `client_id`; `iam-sandbox` by default.
    pub client_id: String,
    /// `client_secret`; random by default.
    pub client_secret: SecretString,
    /// How long an issued token is accepted (`expires_in`).
    pub token_lifetime: std::time::Duration,
}

impl Default for OAuthClient {
    fn default() -> Self {
        Self {
            client_id: "iam-sandbox".to_owned(),
            client_secret: SecretString::new(format!(
                "sbx_cs_{:016x}{:016x}",
                random_u64(),
                random_u64()
            )),
            token_lifetime: std::time::Duration::from_secs(300),
        }
    }
}

/// The simulator's state: its token, its users, its faults. Cheap to clone (shared).
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    token: SecretString,
    pub(crate) oauth: OAuthClient,
    pub(crate) issued: Mutex<oauth::Issued>,
    pub(crate) entrust_app: EntrustAdminApp,
    pub(crate) nexway_realm: NexwayRealm,
    pub(crate) refresh: Mutex<vendor_tokens::RefreshTokens>,
    variations: Mutex<BTreeMap<Route, Variation>>,
    pub(crate) store: Mutex<store::Store>,
    faults: Mutex<faults::FaultTable>,
    limits: Mutex<ratelimit::Limits>,
    /// The arrival jitter's delays, in turn.
    arrival: jitter::Delays,
    /// 429 answers of the rate limiter, by route.
    limited: [AtomicU64; 4],
    state_file: Option<PathBuf>,
    state_changed: tokio::sync::Notify,
    state_writer_started: std::sync::Once,
    uuid_seed: u64,
    uuid_counter: AtomicU64,
    requests: [AtomicU64; 4],
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("token", &self.inner.token)
            .field("state_file", &self.inner.state_file)
            .finish_non_exhaustive()
    }
}

pub(crate) fn random_u64() -> u64 {
    // std's RandomState is seeded from the OS; no extra dependency for a sandbox token.
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

impl Sandbox {
    /// A simulator with `config`; reads the state file if there is one.
    pub fn new(config: Config) -> Result<Self, SandboxError> {
        let token = match config.token {
            Some(token) if token.expose_secret().trim().is_empty() => {
                return Err(SandboxError::EmptyToken);
            }
            Some(token) => token,
            None => SecretString::new(format!("sbx_{:016x}{:016x}", random_u64(), random_u64())),
        };
        if config.oauth.client_secret.expose_secret().is_empty() {
            return Err(SandboxError::EmptyToken);
        }
        let store = match &config.state_file {
            Some(path) => store::Store::load(path)?,
            None => store::Store::default(),
        };
        if let Some(limit) = &config.rate_limit {
            limit.check().map_err(SandboxError::RateLimit)?;
        }
        let mut limits = ratelimit::Limits::default();
        for route in Route::ALL {
            limits.set(route, config.rate_limit);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                token,
                oauth: config.oauth,
                issued: Mutex::default(),
                entrust_app: config.entrust_app,
                nexway_realm: config.nexway_realm,
                refresh: Mutex::default(),
                variations: Mutex::default(),
                store: Mutex::new(store),
                faults: Mutex::default(),
                limits: Mutex::new(limits),
                arrival: jitter::Delays::new(config.arrival_jitter),
                limited: Default::default(),
                state_file: config.state_file,
                state_changed: tokio::sync::Notify::new(),
                state_writer_started: std::sync::Once::new(),
                uuid_seed: random_u64(),
                uuid_counter: AtomicU64::new(0),
                requests: Default::default(),
            }),
        })
    }

    /// The token the routes accept.
    pub fn token(&self) -> &SecretString {
        &self.inner.token
    }

    /// The OAuth2 client `POST /oauth/token` accepts.
    pub fn oauth_client(&self) -> &OAuthClient {
        &self.inner.oauth
    }

    /// How many tokens `POST /oauth/token` has issued.
    pub fn tokens_issued(&self) -> u64 {
        self.inner.issued.lock().expect("issued lock").count
    }

    /// Revokes every token `POST /oauth/token` and the vendors' token endpoints issued (they
    /// answer 401 from now on), and every Nexway refresh token.
    pub fn revoke_tokens(&self) {
        self.inner.issued.lock().expect("issued lock").revoke_all();
        self.inner
            .refresh
            .lock()
            .expect("refresh lock")
            .revoke_all();
    }

    pub(crate) fn issue_token(&self, token: String, lifetime: std::time::Duration) {
        self.inner
            .issued
            .lock()
            .expect("issued lock")
            .issue(token, lifetime);
    }

    /// The Entrust Administration API application the simulator knows.
    pub fn entrust_app(&self) -> &EntrustAdminApp {
        &self.inner.entrust_app
    }

    /// The Nexway realm and client secret the simulator knows.
    pub fn nexway_realm(&self) -> &NexwayRealm {
        &self.inner.nexway_realm
    }

    /// How many Nexway refresh grants `POST /iam/tokens` honoured.
    pub fn refresh_grants(&self) -> u64 {
        self.inner.refresh.lock().expect("refresh lock").used
    }

    /// Varies the success answers of `route` (see [`answers`]), replacing any other variation.
    pub fn set_variation(&self, route: Route, variation: Variation) {
        self.inner
            .variations
            .lock()
            .expect("variations lock")
            .insert(route, variation);
    }

    /// Clears every answer variation.
    pub fn clear_variations(&self) {
        self.inner
            .variations
            .lock()
            .expect("variations lock")
            .clear();
    }

    /// The answer variations in force.
    pub fn variations(&self) -> BTreeMap<Route, Variation> {
        self.inner
            .variations
            .lock()
            .expect("variations lock")
            .clone()
    }

    pub(crate) fn vary(&self, route: Route, body: Value) -> Value {
        match self.variations().get(&route) {
            Some(variation) => answers::vary(route.provider(), *variation, body),
            None => body,
        }
    }

    /// Whether the request's `Authorization` carries the sandbox token or a token issued by
    /// `POST /oauth/token` and not expired: `Bearer <token>` for every provider, and also the
    /// bare `<token>` for Entrust, as its document allows.
    pub fn authorized(&self, provider: Provider, headers: &HeaderMap) -> bool {
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let token = self.inner.token.expose_secret();
        let presented = match value.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest,
            _ if provider == Provider::Entrust => value,
            _ => return false,
        };
        constant_time_eq(presented.as_bytes(), token.as_bytes())
            || self
                .inner
                .issued
                .lock()
                .expect("issued lock")
                .is_valid(presented)
    }

    /// How many requests `route` has received, whatever their outcome (faults included).
    pub fn requests(&self, route: Route) -> u64 {
        self.inner.requests[route as usize].load(Ordering::Relaxed)
    }

    pub(crate) fn count_request(&self, route: Route) {
        self.inner.requests[route as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The users created for `provider` in `tenant`, oldest first.
    pub fn users(&self, provider: Provider, tenant: &str) -> Vec<Value> {
        self.inner
            .store
            .lock()
            .expect("store lock")
            .users(provider, tenant)
    }

    /// Every user, as `{"entrust-idaas": {tenant: [user, ...]}, ...}` (also `GET /_sandbox/users`).
    pub fn all_users(&self) -> Value {
        self.inner.store.lock().expect("store lock").to_json()
    }

    /// Forgets every user.
    pub fn clear_users(&self) {
        self.inner.store.lock().expect("store lock").clear();
        self.state_changed();
    }

    /// Sets the fault of a route, replacing any other.
    pub fn set_fault(&self, route: Route, fault: Fault) {
        self.inner
            .faults
            .lock()
            .expect("faults lock")
            .set(route, fault);
    }

    /// Clears every fault.
    pub fn clear_faults(&self) {
        self.inner.faults.lock().expect("faults lock").clear();
    }

    /// The faults in force.
    pub fn faults(&self) -> BTreeMap<Route, Fault> {
        self.inner.faults.lock().expect("faults lock").all()
    }

    /// Sets (with a full bucket) or clears (`None`) the rate limit of a route.
    pub fn set_rate_limit(&self, route: Route, limit: Option<RateLimit>) {
        self.inner
            .limits
            .lock()
            .expect("limits lock")
            .set(route, limit);
    }

    /// The rate limits in force.
    pub fn rate_limits(&self) -> BTreeMap<Route, RateLimit> {
        self.inner.limits.lock().expect("limits lock").all()
    }

    /// How many requests of `route` the rate limiter answered 429.
    pub fn rate_limited(&self, route: Route) -> u64 {
        self.inner.limited[route as usize].load(Ordering::Relaxed)
    }

    /// Waits for a create request's arrival jitter ([`Config::arrival_jitter`]; none by default).
    pub(crate) async fn arrive(&self) {
        self.inner.arrival.wait().await;
    }

    /// Admits a request of `route`, or counts a 429 and gives its `Retry-After` (seconds), if
    /// the limit answers one.
    pub(crate) fn admit(&self, route: Route) -> Result<(), Option<u64>> {
        let admitted = self.inner.limits.lock().expect("limits lock").admit(route);
        if admitted.is_err() {
            self.inner.limited[route as usize].fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    pub(crate) fn take_fault(&self, route: Route) -> Option<Fault> {
        self.inner.faults.lock().expect("faults lock").take(route)
    }

    /// A fresh random (version 4) UUID.
    pub(crate) fn new_uuid(&self) -> uuid::Uuid {
        let n = self.inner.uuid_counter.fetch_add(1, Ordering::Relaxed);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        hasher.write_u64(self.inner.uuid_seed);
        hasher.write_u64(n);
        let high = hasher.finish();
        hasher.write_u64(n.rotate_left(17));
        let bytes = (u128::from(high) << 64 | u128::from(hasher.finish())).to_be_bytes();
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    pub(crate) fn state_changed(&self) {
        if self.inner.state_file.is_some() {
            self.inner.state_changed.notify_one();
        }
    }

    /// Writes the state file now (no-op without one).
    pub async fn flush(&self) -> Result<(), SandboxError> {
        let Some(path) = &self.inner.state_file else {
            return Ok(());
        };
        let bytes = self.inner.store.lock().expect("store lock").to_state();
        store::write_atomically(path, &bytes).map_err(|e| SandboxError::StateFile {
            path: path.clone(),
            reason: format!("cannot write it: {e}"),
        })
    }

    /// Starts, once, the task that writes the state file shortly after each change.
    fn spawn_state_writer(&self) {
        if self.inner.state_file.is_none() {
            return;
        }
        self.inner.state_writer_started.call_once(|| {
            let weak = Arc::downgrade(&self.inner);
            tokio::spawn(async move {
                loop {
                    let Some(inner) = weak.upgrade() else { return };
                    let sandbox = Sandbox { inner };
                    sandbox.inner.state_changed.notified().await;
                    // Let a burst of creates land in one write.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    if let Err(e) = sandbox.flush().await {
                        eprintln!("iam-sandbox: {e}");
                    }
                }
            });
        });
    }
}

pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why the simulator could not start or keep its state. Messages name the address or file.
#[derive(Debug)]
#[non_exhaustive]
pub enum SandboxError {
    /// The address could not be listened on (port taken, address not local, no permission).
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Plain HTTP was asked for on an address that is not loopback.
    PlainHttpNotLoopback {
        /// The address.
        host: IpAddr,
    },
    /// The state file could not be read or written.
    StateFile {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The certificate could not be made or written.
    Tls(String),
    /// `IAM_SANDBOX_TOKEN` or `IAM_SANDBOX_CLIENT_SECRET` is set but empty.
    EmptyToken,
    /// The rate limit cannot be used (say why).
    RateLimit(String),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bind { addr, source } => write!(f, "cannot listen on {addr}: {source}"),
            Self::PlainHttpNotLoopback { host } => write!(
                f,
                "refusing to serve plain HTTP on {host}: plain HTTP is served on loopback only (127.0.0.1, ::1); add --tls or use --host 127.0.0.1"
            ),
            Self::StateFile { path, reason } => {
                write!(f, "state file {}: {reason}", path.display())
            }
            Self::Tls(why) => write!(f, "TLS: {why}"),
            Self::EmptyToken => {
                f.write_str("the sandbox token is empty (IAM_SANDBOX_TOKEN is set to nothing)")
            }
            Self::RateLimit(why) => write!(f, "--rate-limit: {why}"),
        }
    }
}

impl std::error::Error for SandboxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}
