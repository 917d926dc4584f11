//! OAuth2 client credentials against the simulator's token endpoint: one fetch for many
//! requests, a fresh token once on a 401, a new one shortly before expiry, typed refusals.

mod common;

use std::time::Duration;

use common::{CLIENT_SECRET, Env, env_with, user_for};
use iam_clients::{ClientCredentials, Connection, ErrorKind, ProviderKind};

fn oauth_connection(env: &Env, kind: ProviderKind, secret: &str) -> Connection {
    let connection = env.connection(kind);
    let credentials = ClientCredentials::new(
        &format!("{}/oauth/token", env.running.url()),
        "contract-tests",
        secret,
        connection.http_options(),
    )
    .unwrap();
    connection.token_source(credentials)
}

#[tokio::test]
async fn one_token_serves_many_requests_and_a_401_fetches_a_fresh_one_once() {
    let env = env_with(false, Duration::from_secs(300)).await;
    for kind in ProviderKind::ALL {
        let before = env.sandbox.tokens_issued();
        let client = env.client_with(kind, oauth_connection(&env, kind, CLIENT_SECRET));
        for n in 0..5 {
            client.create_user(&user_for(kind, n)).await.unwrap();
        }
        assert_eq!(
            env.sandbox.tokens_issued(),
            before + 1,
            "{kind}: the token is cached"
        );

        env.sandbox.revoke_tokens();
        let created = client.create_user(&user_for(kind, 5)).await.unwrap();
        assert_eq!(created.attempts, 2, "{kind}: 401, then a fresh token");
        assert_eq!(env.sandbox.tokens_issued(), before + 2);
    }
}

#[tokio::test]
async fn concurrent_requests_share_one_fetch() {
    let env = env_with(false, Duration::from_secs(300)).await;
    let kind = ProviderKind::Nexway;
    let client = env.client_with(kind, oauth_connection(&env, kind, CLIENT_SECRET));
    let users: Vec<_> = (0..16).map(|n| user_for(kind, n)).collect();
    let results = futures_join_all(users.iter().map(|u| client.create_user(u))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(env.sandbox.tokens_issued(), 1);
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::new();
    // Poll them together through a JoinSet-free select: tokio::join! needs a fixed count.
    let mut pinned: Vec<_> = handles.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().map(Option::unwrap));
    out
}

#[tokio::test]
async fn a_token_is_renewed_shortly_before_it_expires() {
    // 2 s tokens are renewed after 1 s (half their lifetime, at most 30 s before expiry).
    let env = env_with(false, Duration::from_secs(2)).await;
    let kind = ProviderKind::MidShift;
    let client = env.client_with(kind, oauth_connection(&env, kind, CLIENT_SECRET));
    client.create_user(&user_for(kind, 1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let created = client.create_user(&user_for(kind, 2)).await.unwrap();
    assert_eq!(created.attempts, 1, "renewed before use, no 401");
    assert_eq!(env.sandbox.tokens_issued(), 2);
}

#[tokio::test]
async fn a_refused_client_is_unauthorized_and_its_secret_never_shows() {
    let env = env_with(false, Duration::from_secs(300)).await;
    let kind = ProviderKind::Nexway;
    let client = env.client_with(kind, oauth_connection(&env, kind, "cs-SECRET-wrong"));
    let err = client.create_user(&user_for(kind, 1)).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts()),
        (ErrorKind::Unauthorized, 0),
        "{err}"
    );
    assert!(err.to_string().contains("invalid_client"), "{err}");
    let printed = format!("{err} {err:?}");
    assert!(!printed.contains("SECRET"), "{printed}");
    assert_eq!(env.users(kind), 0);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_transport_error() {
    let env = env_with(false, Duration::from_secs(300)).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let connection = env.connection(ProviderKind::Nexway);
    let credentials = ClientCredentials::new(
        &format!("http://127.0.0.1:{port}/token"),
        "id",
        "secret",
        connection.http_options(),
    )
    .unwrap();
    let client = env.client_with(ProviderKind::Nexway, connection.token_source(credentials));
    let err = client
        .create_user(&user_for(ProviderKind::Nexway, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
}

#[test]
fn the_token_endpoint_must_be_https_or_loopback() {
    let err = ClientCredentials::new(
        "http://login.example.com/token",
        "id",
        "secret",
        &Default::default(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
}
