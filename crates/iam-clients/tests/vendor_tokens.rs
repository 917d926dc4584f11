//! The vendors' own token endpoints over real sockets, against iam-sandbox: Entrust's
//! `POST /api/web/v1/adminapi/authenticate` (`EntrustAdminAuth`) and Nexway's `POST /iam/tokens`
//! (`NexwayJwt`): a create with nothing but the application's or realm's secret, the token
//! cached, fetched again when it expires and once after a 401, a wrong secret refused without
//! echoing it. (No secret in `Debug`, errors or traces: `vendor_tokens_trace.rs`, alone in its
//! binary so that no other test's thread decides the tracing callsites' interest first.)

mod vendor_common;

use std::time::Duration;

use iam_clients::ErrorKind;
use vendor_common::*;

#[tokio::test]
async fn entrust_creates_with_only_the_application_secret_caches_and_refreshes() {
    let (sandbox, running) = sandbox(Duration::from_secs(300)).await;
    let client = entrust_client(&running, SHARED_SECRET);
    let first = client.create_user(&entrust_user(1)).await.unwrap();
    assert!(first.id.is_some(), "{first:?}");
    client.create_user(&entrust_user(2)).await.unwrap();
    assert_eq!(
        sandbox.tokens_issued(),
        1,
        "the token is cached between calls"
    );

    // A 401 (token revoked): one fresh token, and the create goes through.
    sandbox.revoke_tokens();
    let third = client.create_user(&entrust_user(3)).await.unwrap();
    assert_eq!(third.attempts, 2);
    assert_eq!(sandbox.tokens_issued(), 2);
}

#[tokio::test]
async fn entrust_fetches_a_new_token_when_the_old_one_expires() {
    // A 2 s token is refreshed 1 s before it expires (half its life).
    let (sandbox, running) = sandbox(Duration::from_secs(2)).await;
    let client = entrust_client(&running, SHARED_SECRET);
    client.create_user(&entrust_user(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = client.create_user(&entrust_user(2)).await.unwrap();
    assert_eq!(
        second.attempts, 1,
        "no 401: the token was renewed before it expired"
    );
    assert_eq!(sandbox.tokens_issued(), 2);
}

#[tokio::test]
async fn a_wrong_entrust_secret_is_refused_and_nothing_is_created() {
    let (sandbox, running) = sandbox(Duration::from_secs(300)).await;
    let client = entrust_client(&running, "vt-wrong-SECRET");
    let err = client.create_user(&entrust_user(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("401"), "{text}");
    assert!(!text.contains("SECRET"), "{text}");
    assert!(
        sandbox
            .users(iam_sandbox::Provider::Entrust, "acme")
            .is_empty()
    );
}

#[tokio::test]
async fn nexway_creates_with_only_the_realm_secret_and_uses_the_refresh_token() {
    let (sandbox, running) = sandbox(Duration::from_secs(2)).await;
    let client = nexway_client(&running, CLIENT_SECRET);
    let created = client.create_user(&nexway_user(1)).await.unwrap();
    assert!(
        created.id.is_some(),
        "Nexway's answer carries the user's id: {created:?}"
    );
    assert_eq!((sandbox.tokens_issued(), sandbox.refresh_grants()), (1, 0));

    // The JWT nears its expiry: the refresh token gets the next one.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.create_user(&nexway_user(2)).await.unwrap();
    assert_eq!((sandbox.tokens_issued(), sandbox.refresh_grants()), (2, 1));

    // Everything revoked (JWT and refresh token): the refresh is refused, a new grant follows.
    sandbox.revoke_tokens();
    let third = client.create_user(&nexway_user(3)).await.unwrap();
    assert_eq!(third.attempts, 2, "401, then a fresh token");
    assert_eq!((sandbox.tokens_issued(), sandbox.refresh_grants()), (3, 1));
}

#[tokio::test]
async fn a_wrong_nexway_secret_is_refused_and_nothing_is_created() {
    let (sandbox, running) = sandbox(Duration::from_secs(300)).await;
    let client = nexway_client(&running, "vt-wrong-SECRET");
    let err = client.create_user(&nexway_user(1)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    assert!(
        sandbox
            .users(iam_sandbox::Provider::Nexway, "default")
            .is_empty()
    );
}
