//! The users the simulator created, per provider and tenant, and the conflict rule.
//!
//! A user conflicts with an existing one of the same provider and tenant when one of its keys
//! (Entrust: `userId`, `email`; mID: `username`, `email`; Nexway: `email`, `userName`) matches,
//! ignoring case. Secrets are never stored: the stored record is the provider's answer (Entrust,
//! Nexway) or the request without its credentials and activation code (mID).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Provider, SandboxError};

/// The version of the state file's format.
const FORMAT: u32 = 1;

/// One tenant's users, in creation order, and an index of their keys.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(transparent)]
struct Tenant {
    users: Vec<StoredUser>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

/// A created user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredUser {
    /// The keys the conflict rule compares, as `(field, value)`.
    pub keys: Vec<(String, String)>,
    /// The user as created (no secret).
    pub user: Value,
}

/// A key already taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The field, e.g. `email`.
    pub field: String,
    /// The value as sent.
    pub value: String,
}

/// All users, by provider then tenant.
#[derive(Debug, Default)]
pub(crate) struct Store {
    providers: BTreeMap<Provider, BTreeMap<String, Tenant>>,
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: u32,
    users: BTreeMap<Provider, BTreeMap<String, Tenant>>,
}

fn index_key(field: &str, value: &str) -> String {
    format!("{field}\u{0}{}", value.to_lowercase())
}

impl Tenant {
    fn reindex(&mut self) {
        self.index.clear();
        for (i, user) in self.users.iter().enumerate() {
            for (field, value) in &user.keys {
                self.index.insert(index_key(field, value), i);
            }
        }
    }
}

impl Store {
    /// Adds the user unless one of its keys is taken.
    pub(crate) fn insert(
        &mut self,
        provider: Provider,
        tenant: &str,
        keys: Vec<(String, String)>,
        user: Value,
    ) -> Result<(), Conflict> {
        let tenant = self
            .providers
            .entry(provider)
            .or_default()
            .entry(tenant.to_owned())
            .or_default();
        if let Some((field, value)) = keys
            .iter()
            .find(|(f, v)| tenant.index.contains_key(&index_key(f, v)))
        {
            return Err(Conflict {
                field: field.clone(),
                value: value.clone(),
            });
        }
        let position = tenant.users.len();
        for (field, value) in &keys {
            tenant.index.insert(index_key(field, value), position);
        }
        tenant.users.push(StoredUser { keys, user });
        Ok(())
    }

    /// One tenant's users, in creation order.
    pub(crate) fn users(&self, provider: Provider, tenant: &str) -> Vec<Value> {
        self.providers
            .get(&provider)
            .and_then(|t| t.get(tenant))
            .map(|t| t.users.iter().map(|u| u.user.clone()).collect())
            .unwrap_or_default()
    }

    /// The users of one tenant that `matches`, in creation order. A user stored under `field`
    /// with `value` (ignoring case, as the conflict rule compares) comes first, found through
    /// the index; the others are those `matches` accepts.
    pub(crate) fn find(
        &self,
        provider: Provider,
        tenant: &str,
        (field, value): (&str, &str),
        matches: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let Some(tenant) = self.providers.get(&provider).and_then(|t| t.get(tenant)) else {
            return vec![];
        };
        let keyed = tenant.index.get(&index_key(field, value)).copied();
        keyed
            .into_iter()
            .chain(
                (0..tenant.users.len())
                    .filter(|&i| Some(i) != keyed && matches(&tenant.users[i].user)),
            )
            .map(|i| tenant.users[i].user.clone())
            .collect()
    }

    /// Every user, as `{provider: {tenant: [user, ...]}}`.
    pub(crate) fn to_json(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (provider, tenants) in &self.providers {
            let tenants: serde_json::Map<String, Value> = tenants
                .iter()
                .map(|(name, t)| {
                    let users = t.users.iter().map(|u| u.user.clone()).collect();
                    (name.clone(), Value::Array(users))
                })
                .collect();
            out.insert(provider.spec_name().to_owned(), Value::Object(tenants));
        }
        Value::Object(out)
    }

    pub(crate) fn clear(&mut self) {
        self.providers.clear();
    }

    /// The state file's text.
    pub(crate) fn to_state(&self) -> Vec<u8> {
        let state = StateFile {
            format: FORMAT,
            users: self.providers.clone(),
        };
        serde_json::to_vec_pretty(&state).expect("the store serializes")
    }

    /// Reads a state file; a missing file is an empty store.
    pub(crate) fn load(path: &Path) -> Result<Self, SandboxError> {
        let fail = |reason: String| SandboxError::StateFile {
            path: path.to_owned(),
            reason,
        };
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(fail(format!("cannot read it: {e}"))),
        };
        let state: StateFile = serde_json::from_slice(&bytes)
            .map_err(|e| fail(format!("not an iam-sandbox state file: {e}")))?;
        if state.format != FORMAT {
            return Err(fail(format!(
                "format {} is not the supported format {FORMAT}",
                state.format
            )));
        }
        let mut store = Self {
            providers: state.users,
        };
        store
            .providers
            .values_mut()
            .flat_map(|tenants| tenants.values_mut())
            .for_each(Tenant::reindex);
        Ok(store)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder, synced, then renamed:
/// a crash leaves the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("state");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(f, v)| (f.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn conflicts_per_provider_and_tenant_ignoring_case() {
        let mut store = Store::default();
        let john = keys(&[("userId", "john"), ("email", "j@x.com")]);
        store
            .insert(
                Provider::Entrust,
                "acme",
                john.clone(),
                json!({"userId": "john"}),
            )
            .unwrap();
        let err = store
            .insert(
                Provider::Entrust,
                "acme",
                keys(&[("userId", "other"), ("email", "J@X.COM")]),
                json!({}),
            )
            .unwrap_err();
        assert_eq!(err.field, "email");
        // another tenant, another provider: no conflict
        store
            .insert(Provider::Entrust, "globex", john.clone(), json!({}))
            .unwrap();
        store
            .insert(Provider::Mid, "acme", john, json!({}))
            .unwrap();
        assert_eq!(store.users(Provider::Entrust, "acme").len(), 1);
    }

    #[test]
    fn find_takes_the_keyed_user_first_ignoring_case_then_the_matching_ones() {
        let mut store = Store::default();
        for (id, alias) in [("ann", "bob"), ("bob", "x"), ("cy", "BOB")] {
            store
                .insert(
                    Provider::Entrust,
                    "acme",
                    keys(&[("userId", id)]),
                    json!({"userId": id, "alias": alias}),
                )
                .unwrap();
        }
        let by_alias = |wanted: &'static str| {
            move |u: &Value| {
                u["alias"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(wanted))
            }
        };
        let ids = |found: Vec<Value>| -> Vec<String> {
            found
                .iter()
                .map(|u| u["userId"].as_str().unwrap().to_owned())
                .collect()
        };
        let found = store.find(
            Provider::Entrust,
            "acme",
            ("userId", "BOB"),
            by_alias("bob"),
        );
        assert_eq!(ids(found), ["bob", "ann", "cy"]);
        let found = store.find(
            Provider::Entrust,
            "acme",
            ("userId", "nobody"),
            by_alias("x"),
        );
        assert_eq!(ids(found), ["bob"]);
        assert!(
            store
                .find(Provider::Entrust, "other", ("userId", "bob"), |_| true)
                .is_empty()
        );
        assert!(
            store
                .find(Provider::Nexway, "acme", ("userId", "bob"), |_| true)
                .is_empty()
        );
    }

    #[test]
    fn state_round_trips_and_keeps_the_conflict_rule() {
        let mut store = Store::default();
        store
            .insert(
                Provider::Nexway,
                "default",
                keys(&[("email", "a@b.c")]),
                json!({"email": "a@b.c"}),
            )
            .unwrap();
        let dir = std::env::temp_dir().join(format!("iam-sandbox-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        write_atomically(&path, &store.to_state()).unwrap();
        let mut loaded = Store::load(&path).unwrap();
        assert_eq!(
            loaded.users(Provider::Nexway, "default"),
            [json!({"email": "a@b.c"})]
        );
        assert!(
            loaded
                .insert(
                    Provider::Nexway,
                    "default",
                    keys(&[("email", "A@b.c")]),
                    json!({})
                )
                .is_err()
        );
        std::fs::write(&path, "{not json").unwrap();
        let err = Store::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("state.json") && err.contains("not an iam-sandbox state file"),
            "{err}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
