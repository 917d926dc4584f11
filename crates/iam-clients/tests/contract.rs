//! Contract tests over real sockets against iam-sandbox, for the four endpoints.

mod common;

use std::time::{Duration, Instant};

use common::{ALL, Env, TOKEN, env, user_for};
use iam_clients::{ErrorKind, NewUser, ProviderAnswer, ProviderKind, RetryPolicy};
use iam_sandbox::{Action, ErrorBody, Fault, Route};

fn route(kind: ProviderKind) -> Route {
    match kind {
        ProviderKind::Entrust => Route::Entrust,
        ProviderKind::MidSsms => Route::MidSsms,
        ProviderKind::MidShift => Route::MidShift,
        ProviderKind::Nexway => Route::Nexway,
    }
}

fn success_status(kind: ProviderKind) -> u16 {
    match kind {
        ProviderKind::Entrust => 200,
        ProviderKind::MidSsms | ProviderKind::MidShift => 202,
        ProviderKind::Nexway => 201,
    }
}

#[tokio::test]
async fn creates_a_user_on_each_endpoint() {
    let env = env().await;
    for (n, kind) in ALL.into_iter().enumerate() {
        let client = env.client(kind);
        let created = client.create_user(&user_for(kind, n as u32)).await.unwrap();
        assert_eq!(created.provider, kind);
        assert_eq!(created.status, success_status(kind), "{kind}");
        assert_eq!(created.username, Some(format!("user{n}-{kind}")));
        assert_eq!(created.attempts, 1);
        match (kind, &created.answer) {
            (ProviderKind::Entrust, Some(ProviderAnswer::Entrust(user))) => {
                assert_eq!(created.id, user.id);
                assert!(created.id.is_some());
                assert_eq!(user.mobile.as_deref(), Some("+16138561234"));
            }
            (ProviderKind::MidSsms | ProviderKind::MidShift, Some(ProviderAnswer::Mid(answer))) => {
                assert_eq!(answer.message.as_deref(), Some("User created successfully"));
            }
            (ProviderKind::Nexway, Some(ProviderAnswer::Nexway(user))) => {
                assert_eq!(
                    user.roles.as_ref().unwrap()[0].name.as_deref(),
                    Some("admin")
                );
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(env.users(ProviderKind::Entrust), 1);
    assert_eq!(
        env.users(ProviderKind::MidSsms),
        2,
        "SSMS and SHIFT share tenant acme"
    );
    assert_eq!(env.users(ProviderKind::Nexway), 1);
    let stored = env.sandbox.users(iam_sandbox::Provider::Mid, "acme");
    assert_eq!(stored[0]["realmRoles"], serde_json::json!(["auditor"]));
    assert_eq!(
        stored[0]["attributes"]["groups"],
        serde_json::json!(["ks-users"])
    );
    assert_eq!(
        stored[0]["attributes"]["digitaniumUserIdOnboardingType"],
        "letter"
    );
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_with_the_documented_message() {
    let env = env().await;
    for kind in ALL {
        let client = env.client_with(kind, env.connection(kind).bearer("wrong-token"));
        let err = client.create_user(&user_for(kind, 1)).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.status(), err.attempts()),
            (ErrorKind::Unauthorized, Some(401), 1),
            "{kind}: {err}"
        );
        if matches!(kind, ProviderKind::MidSsms | ProviderKind::MidShift) {
            assert_eq!(err.provider_message(), Some("HTTP 401 Unauthorized"));
        }
    }
}

#[tokio::test]
async fn an_existing_user_is_a_conflict() {
    let env = env().await;
    for kind in ALL {
        let client = env.client(kind);
        let user = user_for(kind, 7);
        client.create_user(&user).await.unwrap();
        let err = client.create_user(&user).await.unwrap_err();
        assert!(err.is_conflict(), "{kind}: {err}");
        assert_eq!(err.status(), Some(409));
        assert!(!err.is_retryable());
        let expected = match kind {
            ProviderKind::Entrust => Some("A user with userId `user7-entrust` already exists."),
            ProviderKind::MidSsms | ProviderKind::MidShift => {
                Some("User exists with same username")
            }
            ProviderKind::Nexway => None,
        };
        assert_eq!(err.provider_message(), expected, "{kind}");
    }
}

#[tokio::test]
async fn ssms_and_shift_share_the_tenant_s_users() {
    let env = env().await;
    let user = user_for(ProviderKind::MidSsms, 8);
    env.client(ProviderKind::MidSsms)
        .create_user(&user)
        .await
        .unwrap();
    let err = env
        .client(ProviderKind::MidShift)
        .create_user(&user)
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
}

#[tokio::test]
async fn the_documented_refusals_map_to_their_kinds() {
    let env = env().await;
    // Entrust and Nexway document 400, 403, 404, 500; mID documents 400.
    let cases: &[(ProviderKind, u16, ErrorKind)] = &[
        (ProviderKind::Entrust, 400, ErrorKind::InvalidInput),
        (ProviderKind::Entrust, 403, ErrorKind::Forbidden),
        (ProviderKind::Entrust, 404, ErrorKind::NotFound),
        (ProviderKind::Entrust, 500, ErrorKind::ServerError),
        (ProviderKind::MidSsms, 400, ErrorKind::InvalidInput),
        (ProviderKind::MidShift, 400, ErrorKind::InvalidInput),
        (ProviderKind::Nexway, 400, ErrorKind::InvalidInput),
        (ProviderKind::Nexway, 403, ErrorKind::Forbidden),
        (ProviderKind::Nexway, 404, ErrorKind::NotFound),
        (ProviderKind::Nexway, 500, ErrorKind::ServerError),
    ];
    for &(kind, status, expected) in cases {
        let fault = Action::Status {
            status,
            retry_after: None,
            body: ErrorBody::Json,
        };
        env.sandbox
            .set_fault(route(kind), Fault::action(fault).times(1));
        let err = env
            .client(kind)
            .create_user(&user_for(kind, 1))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.status(), err.attempts()),
            (expected, Some(status), 1),
            "{kind} {status}: {err}"
        );
        if kind != ProviderKind::Nexway {
            assert!(
                err.provider_message().is_some(),
                "{kind} {status}: the provider's message is surfaced: {err}"
            );
        }
    }
    // A request adjusted past the facade's own mapping is still sent as adjusted.
    let mid =
        iam_clients::MidClient::shift(env.connection(ProviderKind::MidShift), "acme").unwrap();
    let created = mid
        .create_user_with(&user_for(ProviderKind::MidShift, 2), |request| {
            request.username = serde_json::from_value(serde_json::json!("x")).unwrap();
        })
        .await
        .unwrap();
    // mID answers no body: the facade's `username` is its own request's, so only what the
    // simulator stored shows what was sent.
    assert_eq!(created.username.as_deref(), Some("x"));
    let stored = env.sandbox.users(iam_sandbox::Provider::Mid, "acme");
    assert!(
        stored.iter().any(|u| u["username"] == "x"),
        "the adjusted username went out: {stored:?}"
    );
    assert!(
        !stored.iter().any(|u| u["username"] == "user2-mid-shift"),
        "the unadjusted one did not: {stored:?}"
    );
}

/// The vendor sections reach the simulator, which keeps and answers what it was sent: Entrust's
/// external id, aliases and groups, Nexway's authorized customers and roles, mID's client roles
/// and required actions; never a password.
#[tokio::test]
async fn vendor_sections_round_trip_through_the_simulator() {
    use serde_json::json;
    let env = env().await;
    let group = "7d3a8f0e-5b1c-4e2a-9f6d-0c4b8a2e1f33";
    let john = NewUser::builder()
        .username("john")
        .group(group)
        .entrust("externalId", "hr-42")
        .entrust(
            "userAliases",
            json!([{"value": "johnny", "type": "CUSTOM"}]),
        )
        .entrust("locale", "fr")
        .entrust("oauthRoles", json!([group]))
        .entrust("organizations", json!([group]))
        .entrust(
            "userAttributeValues",
            json!([{"userAttributeId": "attr-1", "value": "blue"}]),
        )
        .build();
    let created = env
        .client(ProviderKind::Entrust)
        .create_user(&john)
        .await
        .unwrap();
    let Some(ProviderAnswer::Entrust(user)) = &created.answer else {
        panic!("{created:?}")
    };
    assert_eq!(user.external_id.as_deref(), Some("hr-42"));
    assert_eq!(user.locale.as_deref(), Some("fr"));
    let groups: Vec<_> = user.groups.iter().flatten().map(|g| g.id.clone()).collect();
    assert_eq!(groups, [Some(group.to_owned())]);
    let roles: Vec<_> = user
        .oauth_roles
        .iter()
        .flatten()
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(roles, [Some(group.to_owned())]);
    let organizations: Vec<_> = user
        .organizations
        .iter()
        .flatten()
        .map(|o| o.id.clone())
        .collect();
    assert_eq!(organizations, [Some(group.to_owned())]);
    let values = user.user_attribute_values.as_ref().unwrap();
    assert_eq!(
        (
            values[0].user_attribute_id.as_deref(),
            values[0].value.as_deref()
        ),
        (Some("attr-1"), Some("blue"))
    );
    let aliases: Vec<_> = user
        .user_aliases
        .iter()
        .flatten()
        .map(|a| {
            (
                a.value.clone().unwrap_or_default(),
                a.type_.as_ref().map(ToString::to_string),
            )
        })
        .collect();
    assert!(
        aliases.contains(&("johnny".to_owned(), Some("CUSTOM".to_owned()))),
        "{aliases:?}"
    );

    let ada = NewUser::builder()
        .email("ada@example.com")
        .first_name("Ada")
        .last_name("Lovelace")
        .role("admin")
        .nexway(
            "authorizedCustomers",
            json!([{"customerId": "c-1", "name": "Acme"}]),
        )
        .nexway("password", "pw-SECRET-section")
        .build();
    let created = env
        .client(ProviderKind::Nexway)
        .create_user(&ada)
        .await
        .unwrap();
    let Some(ProviderAnswer::Nexway(user)) = &created.answer else {
        panic!("{created:?}")
    };
    let customers = user.authorized_customers.as_ref().unwrap();
    assert_eq!(
        (
            customers[0].customer_id.as_deref(),
            customers[0].name.as_deref()
        ),
        (Some("c-1"), Some("Acme"))
    );
    assert_eq!(
        user.roles.as_ref().unwrap()[0].name.as_deref(),
        Some("admin")
    );

    let ngk = NewUser::builder()
        .username("ngk")
        .mid("clientRoles", json!({"crm": ["agent"]}))
        .mid("requiredActions", json!(["UPDATE_PASSWORD"]))
        .mid(
            "credentials",
            json!([{"value": "pw-SECRET-mid", "temporary": false, "type": "password"}]),
        )
        .build();
    env.client(ProviderKind::MidShift)
        .create_user(&ngk)
        .await
        .unwrap();
    let stored = env.sandbox.users(iam_sandbox::Provider::Mid, "acme");
    assert_eq!(stored[0]["clientRoles"], json!({"crm": ["agent"]}));
    assert_eq!(stored[0]["requiredActions"], json!(["UPDATE_PASSWORD"]));
    let everything = env.sandbox.all_users().to_string();
    assert!(!everything.contains("pw-SECRET"), "{everything}");
}

#[tokio::test]
async fn bad_input_is_refused_before_sending_naming_provider_and_field() {
    let env = env().await;
    let cases: Vec<(ProviderKind, NewUser, ErrorKind, &str)> = vec![
        (
            ProviderKind::Entrust,
            NewUser::builder().email("a@b.c").build(),
            ErrorKind::InvalidInput,
            "username",
        ),
        (
            ProviderKind::Entrust,
            NewUser::builder().username("u").password("p").build(),
            ErrorKind::UnsupportedField,
            "password",
        ),
        (
            ProviderKind::Entrust,
            NewUser::builder().username("u").email("no-at-sign").build(),
            ErrorKind::InvalidInput,
            "email",
        ),
        (
            ProviderKind::MidSsms,
            NewUser::builder().username("john smith").build(),
            ErrorKind::InvalidInput,
            "username",
        ),
        (
            ProviderKind::MidShift,
            NewUser::builder().username("").build(),
            ErrorKind::InvalidInput,
            "username",
        ),
        (
            ProviderKind::MidShift,
            NewUser::builder().username("u").phone("1").build(),
            ErrorKind::UnsupportedField,
            "phone",
        ),
        (
            ProviderKind::MidSsms,
            NewUser::builder()
                .username("u")
                .attribute("digitaniumCreateActivation", "yes")
                .build(),
            ErrorKind::InvalidInput,
            "attributes.digitaniumCreateActivation",
        ),
        (
            ProviderKind::Nexway,
            NewUser::builder()
                .email("a@b.c")
                .first_name("A")
                .last_name("B")
                .build(),
            ErrorKind::InvalidInput,
            "password",
        ),
        (
            ProviderKind::Nexway,
            NewUser {
                groups: vec!["g".into()],
                ..user_for(ProviderKind::Nexway, 1)
            },
            ErrorKind::UnsupportedField,
            "groups",
        ),
    ];
    for (kind, user, expected, field) in cases {
        let client = env.client(kind);
        let validated = client.validate(&user).unwrap_err();
        let err = client.create_user(&user).await.unwrap_err();
        assert_eq!(
            (err.kind(), err.field(), err.provider()),
            (expected, Some(field), Some(kind)),
            "{err}"
        );
        assert_eq!(validated.to_string(), err.to_string());
        assert!(err.is_refused_before_sending() && err.attempts() == 0);
        assert!(err.to_string().starts_with(&format!("{kind}: ")), "{err}");
    }
    for kind in ALL {
        assert_eq!(env.users(kind), 0, "nothing was sent");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_for_429_and_503() {
    let env = env().await;
    for kind in ALL {
        env.sandbox
            .set_fault(route(kind), Fault::status(429).retry_after(1).times(1));
        let started = Instant::now();
        let created = env
            .client(kind)
            .create_user(&user_for(kind, 1))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{kind}: waited for Retry-After"
        );
        assert_eq!(created.attempts, 2);
    }
    // 503 without Retry-After: the policy's default wait, twice.
    env.sandbox
        .set_fault(Route::Nexway, Fault::status(503).times(2));
    let created = env
        .client(ProviderKind::Nexway)
        .create_user(&user_for(ProviderKind::Nexway, 2))
        .await
        .unwrap();
    assert_eq!(created.attempts, 3);
}

#[tokio::test]
async fn retries_stop_where_the_policy_says() {
    let env = env().await;
    let kind = ProviderKind::Nexway;
    env.sandbox
        .set_fault(Route::Nexway, Fault::status(429).retry_after(1));
    let two = env.connection(kind).retry(RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    });
    let err = env
        .client_with(kind, two)
        .create_user(&user_for(kind, 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts(), err.retry_after()),
        (ErrorKind::RateLimited, 2, Some(Duration::from_secs(1)))
    );
    assert!(err.is_retryable());

    env.sandbox
        .set_fault(Route::Nexway, Fault::status(429).retry_after(120));
    let started = Instant::now();
    let err = env
        .client(kind)
        .create_user(&user_for(kind, 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts()),
        (ErrorKind::RateLimited, 1),
        "a 120 s wait is over max_delay"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(env.users(kind), 0);
}

#[tokio::test]
async fn an_undocumented_500_is_a_server_error_with_an_excerpt_and_not_retried() {
    let env = env().await;
    env.sandbox.set_fault(Route::MidSsms, Fault::status(500));
    let err = env
        .client(ProviderKind::MidSsms)
        .create_user(&user_for(ProviderKind::MidSsms, 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status(), err.attempts()),
        (ErrorKind::ServerError, Some(500), 1)
    );
    assert!(
        err.body_excerpt()
            .unwrap()
            .contains("<h1>500 Internal Server Error</h1>"),
        "{err}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn unreadable_success_answers_still_mean_created() {
    let env = env().await;
    let actions = [
        Action::MalformedJson,
        Action::TruncatedBody,
        Action::EmptyBody,
    ];
    for kind in ALL {
        for (i, action) in actions.iter().enumerate() {
            env.sandbox
                .set_fault(route(kind), Fault::action(action.clone()).times(1));
            let created = env
                .client(kind)
                .create_user(&user_for(kind, 10 + i as u32))
                .await;
            let created = created.unwrap_or_else(|e| panic!("{kind} {action:?}: {e}"));
            assert_eq!(
                (created.status, created.attempts),
                (success_status(kind), 1),
                "{kind} {action:?}"
            );
            assert!(created.answer.is_none(), "{kind} {action:?}");
        }
    }
    env.sandbox.set_fault(
        Route::Nexway,
        Fault::action(Action::LargeBody { bytes: 4 << 20 }).times(1),
    );
    let created = env
        .client(ProviderKind::Nexway)
        .create_user(&user_for(ProviderKind::Nexway, 20))
        .await
        .unwrap();
    assert!(created.answer.is_some(), "a 4 MiB answer is read");
    assert_eq!(env.users(ProviderKind::Nexway), 4);
}

#[tokio::test]
async fn a_dropped_connection_is_outcome_unknown_and_never_resent() {
    let env = env().await;
    for kind in [
        ProviderKind::Entrust,
        ProviderKind::MidShift,
        ProviderKind::Nexway,
    ] {
        let before = env.users(kind);
        env.sandbox
            .set_fault(route(kind), Fault::action(Action::DropAfterRead));
        let err = env
            .client(kind)
            .create_user(&user_for(kind, 30))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.attempts()),
            (ErrorKind::OutcomeUnknown, 1),
            "{kind}: {err}"
        );
        assert!(!err.is_retryable());
        assert_eq!(
            env.users(kind),
            before + 1,
            "{kind}: the simulator did create it"
        );

        env.sandbox
            .set_fault(route(kind), Fault::action(Action::DropBeforeRead));
        let err = env
            .client(kind)
            .create_user(&user_for(kind, 31))
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind(), err.attempts()),
            (ErrorKind::OutcomeUnknown, 1),
            "{kind}: {err}"
        );
        assert_eq!(
            env.users(kind),
            before + 1,
            "{kind}: this one was not created"
        );
        env.sandbox.clear_faults();
    }
}

#[tokio::test]
async fn a_timeout_after_sending_is_outcome_unknown() {
    let env = env().await;
    env.sandbox.set_fault(Route::Nexway, Fault::latency(2_000));
    let connection = env
        .connection(ProviderKind::Nexway)
        .timeout(Duration::from_millis(300));
    let err = env
        .client_with(ProviderKind::Nexway, connection)
        .create_user(&user_for(ProviderKind::Nexway, 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.attempts()),
        (ErrorKind::OutcomeUnknown, 1),
        "{err}"
    );
    assert!(
        std::error::Error::source(&err).is_some(),
        "the cause is kept"
    );
}

#[tokio::test]
async fn nothing_listening_is_a_transport_error_and_retryable() {
    let env = env().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let connection = iam_clients::Connection::new(format!("http://127.0.0.1:{port}")).bearer(TOKEN);
    let err = env
        .client_with(ProviderKind::Nexway, connection)
        .create_user(&user_for(ProviderKind::Nexway, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_by_every_constructor() {
    let env: Env = env().await;
    for kind in ALL {
        let connection = iam_clients::Connection::new("http://acme.example.com").bearer(TOKEN);
        let result = match kind {
            ProviderKind::Entrust => iam_clients::EntrustClient::new(connection).map(drop),
            ProviderKind::MidSsms => iam_clients::MidClient::ssms(connection).map(drop),
            ProviderKind::MidShift => iam_clients::MidClient::shift(connection, "acme").map(drop),
            ProviderKind::Nexway => iam_clients::NexwayClient::new(connection).map(drop),
        };
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{kind}");
        assert!(err.to_string().contains("https://"), "{err}");
    }
    drop(env);
}
