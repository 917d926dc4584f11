//! Helpers shared by the workspace-level tests in `tests/tests/`: where things are, and the seed
//! samples.

use std::path::PathBuf;

use serde_json::Value;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_owned()
}

/// The vendor documents, `../shared/seeds/` beside the workspace root.
pub fn seeds_dir() -> PathBuf {
    workspace_root().join("../shared/seeds")
}

/// A JSON file from `tests/fixtures/`.
pub fn fixture(name: &str) -> Value {
    let path = workspace_root().join("tests/fixtures").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every top-level `{...}` block of a seed document that parses as JSON, in order.
pub fn seed_json_blocks(seed_file: &str) -> Vec<Value> {
    let path = seeds_dir().join(seed_file);
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
