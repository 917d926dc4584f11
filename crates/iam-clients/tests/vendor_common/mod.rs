//! The sandbox and clients the vendor-token tests share.
#![allow(dead_code, missing_docs)]

use std::time::Duration;

use iam_clients::{Connection, EntrustAdminAuth, EntrustClient, NewUser, NexwayClient, NexwayJwt};
use iam_sandbox::{Config, EntrustAdminApp, NexwayRealm, OAuthClient, Sandbox, ServeOptions};

pub const SANDBOX_TOKEN: &str = "vt-sandbox-token-SECRET";
pub const SHARED_SECRET: &str = "vt-entrust-shared-SECRET";
pub const CLIENT_SECRET: &str = "vt-nexway-client-SECRET";
pub const APP_ID: &str = "vt-app";
pub const REALM: &str = "vt-realm";

pub async fn sandbox(lifetime: Duration) -> (Sandbox, iam_sandbox::RunningSandbox) {
    let sandbox = Sandbox::new(Config {
        token: Some(SANDBOX_TOKEN.into()),
        oauth: OAuthClient {
            token_lifetime: lifetime,
            ..OAuthClient::default()
        },
        entrust_app: EntrustAdminApp {
            application_id: APP_ID.into(),
            shared_secret: SHARED_SECRET.into(),
        },
        nexway_realm: NexwayRealm {
            realm: REALM.into(),
            client_secret: CLIENT_SECRET.into(),
        },
        ..Config::default()
    })
    .unwrap();
    let running = sandbox.start(ServeOptions::default()).await.unwrap();
    (sandbox, running)
}

pub fn entrust_url(running: &iam_sandbox::RunningSandbox) -> String {
    format!("http://acme.sandbox.localhost:{}", running.addr().port())
}

pub fn entrust_client(running: &iam_sandbox::RunningSandbox, secret: &str) -> EntrustClient {
    let url = entrust_url(running);
    let connection = Connection::new(url.clone()).resolve("acme.sandbox.localhost", running.addr());
    let auth = EntrustAdminAuth::new(&url, APP_ID, secret, connection.http_options()).unwrap();
    EntrustClient::new(connection.token_source(auth)).unwrap()
}

pub fn nexway_client(running: &iam_sandbox::RunningSandbox, secret: &str) -> NexwayClient {
    let connection = Connection::new(running.url());
    let jwt = NexwayJwt::new(running.url(), REALM, secret, connection.http_options()).unwrap();
    NexwayClient::new(connection.token_source(jwt)).unwrap()
}

pub fn entrust_user(n: u32) -> NewUser {
    NewUser::builder()
        .username(format!("vt-user{n}"))
        .email(format!("vt{n}@example.com"))
        .build()
}

pub fn nexway_user(n: u32) -> NewUser {
    NewUser::builder()
        .email(format!("vt{n}@example.com"))
        .first_name("Ada")
        .last_name("Lovelace")
        .password("vt-password-SECRET")
        .build()
}
