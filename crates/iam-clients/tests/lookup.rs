//! `find_user`: against the simulator over real sockets (create, then find with the id the
//! create answered; unknown users; an alias is not the user), the providers that publish no
//! lookup, and the exact request and every kind of answer on the wire against a small stub server
//! on 127.0.0.1.

mod common;

use std::sync::{Arc, Mutex};

use common::{ALL, env, user_for};
use iam_clients::{Connection, EntrustClient, ErrorKind, Lookup, NewUser, ProviderKind};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn entrust_finds_a_created_user_with_the_id_the_create_answered() {
    let env = env().await;
    let entrust = env.client(ProviderKind::Entrust);
    let user = user_for(ProviderKind::Entrust, 1);
    assert_eq!(entrust.find_user(&user).await.unwrap(), Lookup::NotFound);

    let created = entrust.create_user(&user).await.unwrap();
    let id = created.id.clone().expect("the create answers the id");
    assert_eq!(entrust.find_user(&user).await.unwrap(), Lookup::One { id });

    // The same user ID in another case is the same Entrust user.
    let shouting = NewUser::builder()
        .username(user.username.as_deref().unwrap().to_uppercase())
        .build();
    assert_eq!(
        entrust.find_user(&shouting).await.unwrap(),
        Lookup::One {
            id: created.id.unwrap()
        }
    );
    let unknown = NewUser::builder().username("nobody-here").build();
    assert_eq!(entrust.find_user(&unknown).await.unwrap(), Lookup::NotFound);
    assert_eq!(
        env.users(ProviderKind::Entrust),
        1,
        "a lookup creates nothing"
    );
}

#[tokio::test]
async fn entrust_a_user_found_by_its_alias_is_not_the_user_looked_for() {
    let env = env().await;
    let entrust = env.client(ProviderKind::Entrust);
    let ann = NewUser::builder()
        .username("ann")
        .entrust(
            "userAliases",
            json!([{"value": "johnny", "type": "CUSTOM"}]),
        )
        .build();
    let created = entrust.create_user(&ann).await.unwrap();
    // Entrust answers `ann` for "johnny" (her alias): that is not the user "johnny" creates.
    let johnny = NewUser::builder().username("johnny").build();
    assert_eq!(entrust.find_user(&johnny).await.unwrap(), Lookup::NotFound);
    // ... and a prefix of a user ID finds nobody.
    let an = NewUser::builder().username("an").build();
    assert_eq!(entrust.find_user(&an).await.unwrap(), Lookup::NotFound);
    assert_eq!(
        entrust.find_user(&ann).await.unwrap(),
        Lookup::One {
            id: created.id.unwrap()
        }
    );
}

#[tokio::test]
async fn entrust_lookup_failures_are_errors_like_create_s() {
    let env = env().await;
    let wrong = env.client_with(
        ProviderKind::Entrust,
        env.connection(ProviderKind::Entrust).bearer("wrong-token"),
    );
    let err = wrong
        .find_user(&user_for(ProviderKind::Entrust, 1))
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::Unauthorized, Some(401))
    );
    assert_eq!(err.provider_message(), Some("Missing or invalid token."));

    // A user the create would refuse is refused the same way, before anything is sent.
    let entrust = env.client(ProviderKind::Entrust);
    let nameless = NewUser::builder().email("x@example.com").build();
    let err = entrust.find_user(&nameless).await.unwrap_err();
    assert!(err.is_refused_before_sending(), "{err}");
    assert_eq!(err.field(), Some("username"), "{err}");
}

#[tokio::test]
async fn mid_and_nexway_publish_no_lookup_and_nothing_is_sent() {
    // Nothing listens here: a request would be a transport error.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = env().await;
    for kind in ALL {
        if kind == ProviderKind::Entrust {
            continue;
        }
        let nowhere = Connection::new(format!("http://127.0.0.1:{port}")).bearer("t");
        let client = env.client_with(kind, nowhere);
        let user = user_for(kind, 1);
        assert_eq!(
            client.find_user(&user).await.unwrap(),
            Lookup::NotPublished,
            "{kind}"
        );
        // Even a user the simulator holds: there is no published lookup to ask.
        env.client(kind).create_user(&user).await.unwrap();
        assert_eq!(
            env.client(kind).find_user(&user).await.unwrap(),
            Lookup::NotPublished,
            "{kind}"
        );
    }
    // The Entrust client over the same dead port does send, and says so.
    let entrust = env.client_with(
        ProviderKind::Entrust,
        Connection::new(format!("http://127.0.0.1:{port}")).bearer("t"),
    );
    let err = entrust
        .find_user(&user_for(ProviderKind::Entrust, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transport);
}

/// What the stub server received: method and path, and the body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A server on 127.0.0.1 answering every request with `status`, `content_type` and `body`, and
/// keeping what it received.
async fn stub(status: u16, content_type: &'static str, body: &'static str) -> (String, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let received = Received::default();
    let log = received.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            let (head_end, length) = loop {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let length = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (end + 4, length);
                }
            };
            while buf.len() < head_end + length {
                let n = socket.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let head = String::from_utf8_lossy(&buf[..head_end]);
            let request_line = head.lines().next().unwrap_or_default();
            let mut parts = request_line.split(' ');
            let line = format!(
                "{} {}",
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default()
            );
            log.lock()
                .unwrap()
                .push((line, buf[head_end..head_end + length].to_vec()));
            let answer = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, received)
}

fn entrust_at(url: &str) -> EntrustClient {
    EntrustClient::new(Connection::new(url).bearer("stub-token")).unwrap()
}

#[tokio::test]
async fn entrust_sends_exactly_the_user_id_on_the_published_path() {
    let (url, received) = stub(
        200,
        "application/json",
        r#"{"id": "u-1", "userId": "john"}"#,
    )
    .await;
    let user = NewUser::builder()
        .username("john")
        .email("john@example.com")
        .first_name("John")
        .mobile("+16138561234")
        .build();
    assert_eq!(
        entrust_at(&url).find_user(&user).await.unwrap(),
        Lookup::One { id: "u-1".into() }
    );
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1);
    let (line, body) = &received[0];
    assert_eq!(line, "POST /api/web/v3/users/userid");
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(body, json!({"userId": "john"}), "nothing but the user ID");
}

#[tokio::test]
async fn entrust_section_user_id_is_the_key_when_set_there() {
    let (url, received) = stub(
        200,
        "application/json",
        r#"{"id": "u-2", "userId": "jdoe"}"#,
    )
    .await;
    let user = NewUser::builder().entrust("userId", "jdoe").build();
    assert_eq!(
        entrust_at(&url).find_user(&user).await.unwrap(),
        Lookup::One { id: "u-2".into() }
    );
    let body: Value = serde_json::from_slice(&received.lock().unwrap()[0].1).unwrap();
    assert_eq!(body, json!({"userId": "jdoe"}));
}

#[tokio::test]
async fn every_entrust_answer_is_read_exactly_never_guessed() {
    let john = NewUser::builder().username("john").build();
    type Expected = Result<Lookup, ErrorKind>;
    let table: &[(u16, &str, &str, Expected)] = &[
        // found
        (
            200,
            "application/json",
            r#"{"id": "u-1", "userId": "JOHN"}"#,
            Ok(Lookup::One { id: "u-1".into() }),
        ),
        (
            200,
            "application/json",
            r#"{"id": "u-1"}"#,
            Ok(Lookup::One { id: "u-1".into() }),
        ),
        // Entrust's own 404
        (
            404,
            "application/json",
            r#"{"errorCode": "USER_NOT_FOUND", "errorMessage": "no"}"#,
            Ok(Lookup::NotFound),
        ),
        // another user (found by an alias)
        (
            200,
            "application/json",
            r#"{"id": "u-9", "userId": "johnny"}"#,
            Ok(Lookup::NotFound),
        ),
        // found, but no id to give
        (
            200,
            "application/json",
            r#"{"userId": "john"}"#,
            Err(ErrorKind::UnexpectedAnswer),
        ),
        (
            200,
            "application/json",
            r#"{"id": "  ", "userId": "john"}"#,
            Err(ErrorKind::UnexpectedAnswer),
        ),
        (
            200,
            "application/json",
            "",
            Err(ErrorKind::UnexpectedAnswer),
        ),
        // a 404 that is not Entrust's (a proxy's page): an error, not "no such user"
        (
            404,
            "text/html",
            "<html>not here</html>",
            Err(ErrorKind::NotFound),
        ),
        (
            400,
            "application/json",
            r#"{"errorCode": "INVALID_REQUEST"}"#,
            Err(ErrorKind::InvalidInput),
        ),
        (
            403,
            "application/json",
            r#"{"errorCode": "FORBIDDEN"}"#,
            Err(ErrorKind::Forbidden),
        ),
        (
            500,
            "application/json",
            r#"{"errorCode": "ERROR"}"#,
            Err(ErrorKind::ServerError),
        ),
        (
            418,
            "text/plain",
            "teapot",
            Err(ErrorKind::UnexpectedAnswer),
        ),
    ];
    for (status, content_type, body, expected) in table {
        let (url, _) = stub(*status, content_type, body).await;
        let got = entrust_at(&url)
            .find_user(&john)
            .await
            .map_err(|e| e.kind());
        assert_eq!(&got, expected, "{status} {body}");
    }
}
