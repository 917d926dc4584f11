//! Known secrets (token, passwords, client secret, activation code) never appear in `Debug` or
//! `Display` of any public type, in any error, or in the tracing output at TRACE level.

mod common;

use std::time::Duration;

use common::{CLIENT_SECRET, TOKEN, env_with, user_for};
use iam_clients::{
    ClientCredentials, Connection, EntrustClient, MidClient, NewUser, NexwayClient, ProviderKind,
};
use iam_sandbox::{Action, Fault, Route};

const PASSWORD: &str = "pw-SECRET-9f8e";
const ACTIVATION_CODE: &str = "ac-SECRET-5150";
const SECRETS: &[&str] = &[TOKEN, CLIENT_SECRET, PASSWORD, ACTIVATION_CODE, "SECRET"];

fn assert_clean(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{what} shows a secret ({secret}):\n{text}"
        );
    }
}

fn mid_user(n: u32) -> NewUser {
    NewUser::builder()
        .username(format!("secret-user{n}"))
        .email(format!("s{n}@example.com"))
        .password(PASSWORD)
        .attribute("digitaniumActivationCode", ACTIVATION_CODE)
        .build()
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_traces() {
    let (captured, _guard) = common::capture_traces();

    let env = env_with(false, Duration::from_secs(300)).await;
    let mut printed: Vec<(String, String)> = Vec::new();
    let mut show = |what: &str, text: String| printed.push((what.to_owned(), text));

    // Types holding secrets.
    let user = mid_user(1);
    show("NewUser", format!("{user:?} {user:#?}"));
    let connection = env.connection(ProviderKind::MidShift);
    show("Connection", format!("{connection:?}"));
    let credentials = ClientCredentials::new(
        &format!("{}/oauth/token", env.running.url()),
        "contract-tests",
        CLIENT_SECRET,
        connection.http_options(),
    )
    .unwrap();
    show("ClientCredentials", format!("{credentials:?}"));
    let mid = MidClient::shift(connection.clone().token_source(credentials), "acme").unwrap();
    show("MidClient", format!("{mid:?}"));
    let entrust = EntrustClient::new(env.connection(ProviderKind::Entrust)).unwrap();
    let nexway = NexwayClient::new(env.connection(ProviderKind::Nexway)).unwrap();
    show("clients", format!("{entrust:?} {nexway:?}"));
    show("request", format!("{:?}", mid.request_for(&user).unwrap()));

    // Success, a refresh after a 401, and failures of every kind.
    let created = mid.create_user(&user).await.unwrap();
    show("CreatedUser", format!("{created:?}"));
    env.sandbox.revoke_tokens();
    show(
        "after refresh",
        format!("{:?}", mid.create_user(&mid_user(2)).await),
    );
    show("conflict", format!("{:?}", mid.create_user(&user).await));
    for action in [
        Action::DropAfterRead,
        Action::MalformedJson,
        Action::TruncatedBody,
    ] {
        env.sandbox
            .set_fault(Route::MidShift, Fault::action(action).times(1));
        let result = mid.create_user(&mid_user(3)).await;
        show(
            "fault",
            format!(
                "{result:?} {}",
                result
                    .as_ref()
                    .err()
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        );
    }
    env.sandbox.set_fault(Route::Nexway, Fault::status(500));
    let err = nexway
        .create_user(&user_for(ProviderKind::Nexway, 1))
        .await
        .unwrap_err();
    show("500", format!("{err} {err:?}"));
    let wrong =
        NexwayClient::new(Connection::new(env.running.url()).bearer("tok-SECRET-wrong")).unwrap();
    let err = wrong
        .create_user(&user_for(ProviderKind::Nexway, 2))
        .await
        .unwrap_err();
    show("401", format!("{err} {err:?}"));
    let bad = NewUser::builder()
        .username("u")
        .attribute("digitaniumActivationCode", 12345)
        .build();
    let err = mid.create_user(&bad).await.unwrap_err();
    show("bad attribute", format!("{err} {err:?}"));
    assert!(!err.to_string().contains("12345"), "{err}");
    let err = entrust.create_user(&mid_user(4)).await.unwrap_err();
    show("unsupported password", format!("{err} {err:?}"));
    let bad_token =
        NexwayClient::new(Connection::new(env.running.url()).bearer("tok-SECRET\nX: y"))
            .unwrap_err();
    show("bad token", format!("{bad_token} {bad_token:?}"));

    drop(_guard);
    for (what, text) in &printed {
        assert_clean(what, text);
    }
    let traces = captured.text();
    assert!(
        traces.contains("iam.request"),
        "the span is emitted:\n{traces}"
    );
    assert!(
        traces.contains("status=202") && traces.contains("latency_ms="),
        "{traces}"
    );
    assert!(
        traces.contains("status=401"),
        "the refused attempt is traced too:\n{traces}"
    );
    assert_clean("traces", &traces);
}
