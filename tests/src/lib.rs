//! Helpers shared by the workspace-level tests in `tests/tests/`: where things are, and the
//! vendor samples (`tests/fixtures/`).

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_owned()
}

/// The environment variable naming a folder that holds the vendor documents the fixtures were
/// copied from (`entrust-idaas-create-user.txt`, `mid-provider-create-user.txt`,
/// `nexway-iam-create-user.txt`). Only the opt-in check of the fixtures against those documents
/// reads it; nothing else in the project needs the documents.
pub const SEEDS_DIR_ENV: &str = "IAM_SEEDS_DIR";

/// The folder [`SEEDS_DIR_ENV`] names, if it is set (and not empty).
pub fn seeds_dir() -> Option<PathBuf> {
    std::env::var_os(SEEDS_DIR_ENV)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// A JSON file from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = workspace_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every top-level `{...}` block of the vendor document `seed_file` in `seeds_dir` that parses as
/// JSON, in order.
pub fn seed_json_blocks(seeds_dir: &Path, seed_file: &str) -> Vec<Value> {
    let path = seeds_dir.join(seed_file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read seed {}: {e}", path.display()));
    let mut blocks = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0
                    && let Ok(value) = serde_json::from_str(&text[start..=i])
                {
                    blocks.push(value);
                }
            }
            _ => {}
        }
    }
    blocks
}

/// `value` with every object member that is `null` or `[]` removed, recursively: the two ways a
/// request says "not given" for an optional member, which the generated types send as absent.
pub fn without_unset_members(value: &Value) -> Value {
    let unset = |v: &Value| v.is_null() || v.as_array().is_some_and(Vec::is_empty);
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !unset(v))
                .map(|(k, v)| (k.clone(), without_unset_members(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_unset_members).collect()),
        other => other.clone(),
    }
}

/// A request as a test server received it.
#[derive(Debug)]
pub struct Received {
    /// `POST /iam/users HTTP/1.1`
    pub request_line: String,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Received {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the request body is JSON")
    }
}

/// A plain-HTTP server on 127.0.0.1 that answers each connection's one request with the next
/// canned raw response, and hands back what it received. For tests of the wire format; the
/// simulator is for everything else.
pub struct CannedServer {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    received: tokio::sync::mpsc::UnboundedReceiver<Received>,
}

impl CannedServer {
    /// Starts the server; it answers `responses` in order, one per connection.
    pub async fn start(responses: Vec<String>) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for response in responses {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let mut lines = head.split("\r\n");
                let request_line = lines.next().unwrap_or_default().to_owned();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse::<usize>().ok())
                    .unwrap_or(0);
                let mut body = buf[head_end + 4..].to_vec();
                while body.len() < length {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                let _ = tx.send(Received {
                    request_line,
                    headers,
                    body,
                });
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        Self { url, received }
    }

    /// The next request received, if one arrives within two seconds.
    pub async fn next_request(&mut self) -> Option<Received> {
        tokio::time::timeout(std::time::Duration::from_secs(2), self.received.recv())
            .await
            .ok()
            .flatten()
    }
}

/// A raw HTTP/1.1 response with a JSON body.
pub fn json_response(status: &str, body: &Value) -> String {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}
