//! Answer variations: the success answers a vendor's published contract allows besides the
//! simulator's usual full one, so contract tests prove over real HTTP that a client keeps a
//! created user whatever the answer's shape.
//!
//! Set per route with [`crate::Sandbox::set_variation`] or `POST /_sandbox/variations`
//! (`{"route": "entrust", "variation": "nulls"}`); `DELETE /_sandbox/variations` clears them.
//! The user is created and stored as usual; only the answer's body changes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Provider;

/// How to vary a success answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variation {
    /// Only the user's `id` is left (nothing else is required by Entrust or Nexway); mID's
    /// answer keeps only `status`.
    Sparse,
    /// Every property, at every depth, is `null`, except the user's `id`.
    Nulls,
    /// Every enum property carries a value the spec does not know.
    UnknownEnums,
    /// Properties the spec does not know are added at every object.
    ExtraProperties,
}

/// A value no spec lists: what a vendor might add next year.
pub const UNKNOWN_ENUM_VALUE: &str = "SANDBOX_NEW_VALUE";

/// The names of the properties that are enums in `provider`'s answers (at any depth).
fn enum_properties(provider: Provider) -> &'static [&'static str] {
    match provider {
        // User.state/type/directoryType/preferredOtpDelivery, UserAlias.type, Token.state/type, ...
        Provider::Entrust => &[
            "state",
            "type",
            "directoryType",
            "preferredOtpDelivery",
            "lockedAuthenticatorTypes",
            "userAuthenticatorPreference",
            "allowedActions",
        ],
        Provider::Nexway => &["status"],
        // mID's answer has no enum (its `status` is free text).
        Provider::Mid => &[],
    }
}

/// `body` varied as `variation` says, for `provider`'s answer.
pub fn vary(provider: Provider, variation: Variation, body: Value) -> Value {
    match variation {
        Variation::Sparse => {
            let keep = if provider == Provider::Mid {
                "status"
            } else {
                "id"
            };
            match body {
                Value::Object(map) => {
                    Value::Object(map.into_iter().filter(|(k, _)| k == keep).collect())
                }
                other => other,
            }
        }
        Variation::Nulls => match body {
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = if k == "id" { v } else { Value::Null };
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        },
        Variation::UnknownEnums => unknown_enums(enum_properties(provider), body),
        Variation::ExtraProperties => extra_properties(body),
    }
}

fn unknown_enums(names: &[&str], value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if names.contains(&k.as_str()) {
                        match v {
                            Value::String(_) => Value::String(UNKNOWN_ENUM_VALUE.to_owned()),
                            Value::Array(items) => Value::Array(
                                items
                                    .into_iter()
                                    .map(|_| Value::String(UNKNOWN_ENUM_VALUE.to_owned()))
                                    .collect(),
                            ),
                            other => unknown_enums(names, other),
                        }
                    } else {
                        unknown_enums(names, v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| unknown_enums(names, v)).collect())
        }
        other => other,
    }
}

fn extra_properties(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .into_iter()
                .map(|(k, v)| (k, extra_properties(v)))
                .collect();
            out.insert(
                "sandboxExtra".to_owned(),
                Value::from("added by iam-sandbox"),
            );
            out.insert(
                "sandbox_extra_object".to_owned(),
                serde_json::json!({"nested": [1, null, {"deep": true}]}),
            );
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(extra_properties).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_variation_shapes_the_answer() {
        let entrust = json!({"id": "u1", "userId": "john", "state": "ACTIVE",
            "userAliases": [{"type": "USERID", "value": "john"}], "tokens": []});
        let nexway = json!({"id": "n1", "email": "a@b.c", "status": "ENABLED"});
        let mid = json!({"subSystem": 5, "status": "OK", "message": "User created successfully"});
        // (provider, variation, body, expected)
        let table = [
            (
                Provider::Entrust,
                Variation::Sparse,
                &entrust,
                json!({"id": "u1"}),
            ),
            (
                Provider::Mid,
                Variation::Sparse,
                &mid,
                json!({"status": "OK"}),
            ),
            (
                Provider::Nexway,
                Variation::Nulls,
                &nexway,
                json!({"id": "n1", "email": null, "status": null}),
            ),
            (
                Provider::Entrust,
                Variation::UnknownEnums,
                &entrust,
                json!({"id": "u1", "userId": "john", "state": UNKNOWN_ENUM_VALUE,
                       "userAliases": [{"type": UNKNOWN_ENUM_VALUE, "value": "john"}], "tokens": []}),
            ),
            (
                Provider::Nexway,
                Variation::UnknownEnums,
                &nexway,
                json!({"id": "n1", "email": "a@b.c", "status": UNKNOWN_ENUM_VALUE}),
            ),
            (Provider::Mid, Variation::UnknownEnums, &mid, mid.clone()),
        ];
        for (provider, variation, body, expected) in table {
            assert_eq!(
                vary(provider, variation, body.clone()),
                expected,
                "{provider:?} {variation:?}"
            );
        }
        let extra = vary(
            Provider::Entrust,
            Variation::ExtraProperties,
            entrust.clone(),
        );
        assert_eq!(extra["sandboxExtra"], "added by iam-sandbox");
        assert_eq!(
            extra["userAliases"][0]["sandboxExtra"],
            "added by iam-sandbox"
        );
        assert_eq!(extra["userId"], "john");
    }
}
