//! The baseline for the simulator's throughput figure: the smallest axum server that answers
//! `POST /iam/users` with a constant 201 JSON body. `scripts/bench-sandbox.sh` runs wrk against
//! it and against iam-sandbox in the same run.
//!
//! Usage: `cargo run --release -p iam-sandbox --example constant_server -- PORT`

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::post;

const BODY: &str = r#"{"email":"u@bench.example","firstName":"B","lastName":"M"}"#;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let app = Router::new().route(
        "/iam/users",
        post(|| async {
            (
                StatusCode::CREATED,
                [(header::CONTENT_TYPE, "application/json")],
                BODY,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    println!(
        "constant server on http://{}",
        listener.local_addr().expect("address")
    );
    axum::serve(listener, app).await.expect("serve");
}
