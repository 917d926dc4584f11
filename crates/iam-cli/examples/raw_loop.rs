//! The baseline for `iam import`'s throughput: a plain tokio + reqwest loop posting the same
//! Nexway bodies from the same CSV with the same concurrency, no journal, no checks.
//! `cargo xtask bench` runs it beside `iam import`.
//!
//! Usage: `raw_loop BASE_URL TOKEN FILE.csv CONCURRENCY` (prints rows/s)

use std::sync::Arc;
use std::time::Instant;

use iam_clients::{Connection, NewUser, NexwayClient};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, base_url, token, file, concurrency] = &args[..] else {
        eprintln!("usage: raw_loop BASE_URL TOKEN FILE.csv CONCURRENCY");
        std::process::exit(2);
    };
    let concurrency: usize = concurrency.parse().expect("a number");
    // Bodies prepared before timing, the same bytes the facade would send.
    let mapper =
        NexwayClient::new(Connection::new(base_url.as_str()).bearer(token.as_str())).unwrap();
    let mut reader = csv::Reader::from_path(file).expect("the CSV");
    let headers = reader.headers().unwrap().clone();
    let bodies: Vec<Vec<u8>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let get = |name: &str| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .map(|i| r[i].to_owned())
            };
            let user = NewUser {
                username: get("username"),
                email: get("email"),
                first_name: get("first_name"),
                last_name: get("last_name"),
                password: get("password").map(Into::into),
                enabled: get("enabled").map(|e| e == "true"),
                roles: get("roles").into_iter().filter(|s| !s.is_empty()).collect(),
                ..NewUser::default()
            };
            serde_json::to_vec(&mapper.request_for(&user).unwrap()).unwrap()
        })
        .collect();
    let client = reqwest::Client::new();
    let endpoint = Arc::new(format!("{base_url}/iam/users"));
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    let rows = bodies.len();
    for body in bodies {
        let permit = semaphore.clone().acquire_owned().await.unwrap();
        let (client, endpoint, token) = (client.clone(), endpoint.clone(), token.clone());
        tasks.spawn(async move {
            let response = client
                .post(endpoint.as_str())
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            response.bytes().await.unwrap();
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    println!("{:.1}", rows as f64 / elapsed);
}
