//! One full run over TLS, trusting the simulator's certificate; refused without it.

mod common;

use std::time::Duration;

use common::{TOKEN, env_with, user_for};
use iam_clients::{Connection, ErrorKind, ProviderKind};

#[tokio::test]
async fn every_endpoint_over_tls_with_the_certificate_trusted() {
    let env = env_with(true, Duration::from_secs(300)).await;
    assert!(env.running.url().starts_with("https://"));
    for (n, kind) in ProviderKind::ALL.into_iter().enumerate() {
        let created = env
            .client(kind)
            .create_user(&user_for(kind, n as u32))
            .await;
        assert!(created.is_ok(), "{kind}: {:?}", created.err());
    }
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_before_anything_is_sent() {
    let env = env_with(true, Duration::from_secs(300)).await;
    let connection = Connection::new(env.running.url()).bearer(TOKEN);
    let client = env.client_with(ProviderKind::Nexway, connection);
    let err = client
        .create_user(&user_for(ProviderKind::Nexway, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert_eq!(env.users(ProviderKind::Nexway), 0);
}
