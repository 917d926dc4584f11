//! Per-request overhead of the facade: `NexwayClient::create_user` against a raw `reqwest` POST
//! of the identical bytes, to the same in-process loopback server answering a constant 201.
//! `cargo xtask bench` reads the two means and reports their ratio.

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::post;
use criterion::{Criterion, criterion_group, criterion_main};
use iam_clients::{Connection, NewUser, NexwayClient};

const ANSWER: &str = r#"{"email":"ada@example.com","firstName":"Ada","lastName":"Lovelace","status":"ENABLED","userName":"ada"}"#;

fn overhead(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(async {
        let app = Router::new().route(
            "/iam/users",
            post(|| async {
                (
                    StatusCode::CREATED,
                    [(header::CONTENT_TYPE, "application/json")],
                    ANSWER,
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    });

    let connection = Connection::new(&url).bearer("bench-token");
    let http = connection.http_options().build().unwrap();
    let facade = NexwayClient::new(connection).unwrap();
    let user = NewUser::builder()
        .username("ada")
        .email("ada@example.com")
        .first_name("Ada")
        .last_name("Lovelace")
        .password("correct horse battery staple")
        .enabled(true)
        .build();
    // The identical bytes the facade sends.
    let body = serde_json::to_vec(&facade.request_for(&user).unwrap()).unwrap();
    let endpoint = format!("{url}/iam/users");

    let mut group = c.benchmark_group("overhead");
    group
        .measurement_time(Duration::from_secs(4))
        .sample_size(60);
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let response = http
                .post(&endpoint)
                .bearer_auth("bench-token")
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ACCEPT, "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.bytes().await.unwrap()
        })
    });
    group.bench_function("facade", |b| {
        b.to_async(&runtime)
            .iter(|| async { facade.create_user(&user).await.unwrap() })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
