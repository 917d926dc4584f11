//! Creating a user, per provider: the request is checked by decoding it into the generated
//! request type (so the spec's types, required fields, enums and the mID username pattern are
//! the check, not a second list of fields), and the answer is built as the generated response
//! type, shaped like the seed's sample.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{Provider, Sandbox};

/// A created user: the success status and body the provider answers.
pub(crate) struct Created {
    pub status: StatusCode,
    pub body: Value,
}

/// A refusal: status and the provider's error body (`Value::Null` for none).
#[derive(Debug)]
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub body: Value,
}

impl Refusal {
    /// The provider's error body for `status` with `message`.
    pub(crate) fn new(provider: Provider, status: StatusCode, code: &str, message: &str) -> Self {
        let body = match provider {
            Provider::Entrust => {
                json!({"errorCode": code, "errorMessage": message, "parameters": []})
            }
            Provider::Mid => json!({"subSystem": 5, "status": code, "message": message}),
            Provider::Nexway => Value::Null,
        };
        Self { status, body }
    }

    fn bad_request(provider: Provider, message: &str) -> Self {
        let code = match provider {
            Provider::Entrust => "INVALID_REQUEST",
            _ => "BAD_REQUEST",
        };
        Self::new(provider, StatusCode::BAD_REQUEST, code, message)
    }

    /// The 401 each provider documents.
    pub(crate) fn unauthorized(provider: Provider) -> Self {
        match provider {
            Provider::Mid => Self::new(
                provider,
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "HTTP 401 Unauthorized",
            ),
            _ => Self::new(
                provider,
                StatusCode::UNAUTHORIZED,
                "UNAUTHORIZED",
                "Missing or invalid token.",
            ),
        }
    }

    fn conflict(provider: Provider, conflict: &crate::store::Conflict) -> Self {
        let (code, message) = match provider {
            Provider::Entrust => (
                "USER_ALREADY_EXISTS",
                format!(
                    "A user with {} `{}` already exists.",
                    conflict.field, conflict.value
                ),
            ),
            _ => (
                "CONFLICT",
                format!("User exists with same {}", conflict.field),
            ),
        };
        Self::new(provider, StatusCode::CONFLICT, code, &message)
    }
}

/// Decodes the body as the generated type `T`, or refuses it naming what is wrong.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(
    provider: Provider,
    body: &[u8],
    type_name: &str,
) -> Result<T, Refusal> {
    serde_json::from_slice(body).map_err(|e| {
        Refusal::bad_request(
            provider,
            &format!("the body does not match {type_name} in the spec: {e}"),
        )
    })
}

fn store(
    sandbox: &Sandbox,
    provider: Provider,
    tenant: &str,
    keys: Vec<(&str, Option<&str>)>,
    user: Value,
) -> Result<(), Refusal> {
    let keys = keys
        .into_iter()
        .filter_map(|(f, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| (f.to_owned(), v.to_owned()))
        })
        .collect();
    sandbox
        .inner
        .store
        .lock()
        .expect("store lock")
        .insert(provider, tenant, keys, user)
        .map_err(|c| Refusal::conflict(provider, &c))?;
    sandbox.state_changed();
    Ok(())
}

/// `POST /api/web/v3/users`: answers the created user, as Entrust's `User`, shaped like the
/// seed's sample (a `USERID` alias added, not locked, empty lists, `MGMT_UI`), with what it was
/// sent: every property of `UserParms` that `User` has (groups, OAuth roles and organizations as
/// objects with the ids sent, attribute values with the user's id). `lock`, `applyGracePeriod`,
/// `emailVerification` have no property of their own in `User`; `lock: true` shows as `locked`.
pub(crate) fn entrust(sandbox: &Sandbox, tenant: &str, body: &[u8]) -> Result<Created, Refusal> {
    use entrust_idaas::types::{
        State, User, UserAlias, UserAliasType, UserAttributeValue, UserExtraAttribute, UserParms,
        UserType,
    };
    let provider = Provider::Entrust;
    let params: UserParms = decode(provider, body, "UserParms")?;
    // The spec requires a non-empty userId; decoding into UserParms checked it.
    let user_id = String::clone(&params.user_id);
    let id = sandbox.new_uuid().to_string();
    let alias = |value: String, type_: UserAliasType| UserAlias {
        id: Some(sandbox.new_uuid().to_string()),
        user_id: Some(id.clone()),
        value: Some(value),
        type_: Some(type_.into()),
    };
    let mut aliases: Vec<UserAlias> = params
        .user_aliases
        .iter()
        .map(|a| {
            alias(
                a.value.clone().unwrap_or_default(),
                a.type_.unwrap_or(UserAliasType::Custom),
            )
        })
        .collect();
    aliases.push(alias(user_id.clone(), UserAliasType::Userid));
    let user = User {
        id: Some(id.clone()),
        user_id: Some(user_id.clone()),
        first_name: params.first_name,
        last_name: params.last_name,
        email: params.email.clone(),
        mobile: params.mobile,
        phone: params.phone,
        user_principal_name: params.user_principal_name,
        security_id: params.security_id,
        locale: params
            .locale
            .map(|l| l.to_string())
            .filter(|l| !l.is_empty()),
        state: Some(params.state.unwrap_or(State::Active).into()),
        external_id: params.external_id,
        external_source: params.external_source,
        preferred_otp_delivery: params.preferred_otp_delivery.map(Into::into),
        preferred_otp_delivery_contact_attributes: Some(
            params.preferred_otp_delivery_contact_attributes,
        )
        .filter(|m| !m.is_empty()),
        registration_required: params.registration_required,
        verification_required: params.verification_required,
        locked: Some(params.lock.unwrap_or(false)),
        grids: Some(vec![]),
        tokens: Some(vec![]),
        smart_credentials: Some(vec![]),
        user_aliases: Some(aliases),
        groups: Some(params.groups.iter().map(group).collect()),
        oauth_roles: Some(params.oauth_roles.iter().map(oauth_role).collect()),
        organizations: Some(params.organizations.iter().map(organization).collect()),
        user_attribute_values: Some(
            params
                .user_attribute_values
                .iter()
                .map(|v| UserAttributeValue {
                    id: Some(sandbox.new_uuid().to_string()),
                    user_attribute_id: v.user_attribute_id.clone(),
                    user_id: Some(id.clone()),
                    value: v.value.clone(),
                    ..UserAttributeValue::default()
                })
                .collect(),
        ),
        user_extra_attributes: Some(
            params
                .user_extra_attributes
                .iter()
                .map(|a| UserExtraAttribute {
                    id: Some(sandbox.new_uuid().to_string()),
                    name: a.name.clone(),
                    type_: a.type_.map(Into::into),
                    value: a.value.clone(),
                })
                .collect(),
        ),
        type_: Some(UserType::MgmtUi.into()),
        user_creation_time: Some(crate::clock::entrust_now()),
        ..User::default()
    };
    let answer = serde_json::to_value(&user).expect("a User serializes");
    let keys = vec![
        ("userId", Some(user_id.as_str())),
        ("email", params.email.as_deref()),
    ];
    store(sandbox, provider, tenant, keys, answer.clone())?;
    Ok(Created {
        status: StatusCode::OK,
        body: answer,
    })
}

// Answers' objects known to the simulator by their id alone (Entrust's `Group`, `OAuthRole`,
// `Organization`): the simulator holds no groups, roles or organizations, so the properties the
// contract requires besides the id are filled from it (the name is the id; no ancestors,
// descendants or scopes). Struct literals, so that a spec change that adds a property fails to
// compile here instead of at an answer.

fn group(id: &uuid::Uuid) -> entrust_idaas::types::Group {
    entrust_idaas::types::Group {
        attribute: None,
        created: None,
        directory_desynced: None,
        external_id: None,
        id: Some(id.to_string()),
        last_modified: None,
        name: Some(id.to_string()),
        type_: None,
    }
}

fn oauth_role(id: &uuid::Uuid) -> entrust_idaas::types::OAuthRole {
    entrust_idaas::types::OAuthRole {
        ancestor_ids: Some(vec![]),
        descendant_ids: Some(vec![]),
        description: None,
        id: Some(id.to_string()),
        inherited_resource_server_scope_ids: Some(vec![]),
        name: Some(id.to_string()),
        parent_id: None,
        resource_server_scope_ids: Some(vec![]),
    }
}

fn organization(id: &uuid::Uuid) -> entrust_idaas::types::Organization {
    entrust_idaas::types::Organization {
        description: None,
        display_name: Some(id.to_string()),
        id: Some(id.to_string()),
        logo_uri: None,
        name: Some(id.to_string()),
    }
}

/// The one 400 mID documents.
const MID_EMPTY_USERNAME: &str = "Username should not be null or empty";

/// `POST /digitanium/v4/users` and `POST /auth/realms/{tenantId}/v3_user`: 202 as in the seed.
pub(crate) fn mid(sandbox: &Sandbox, tenant: &str, body: &[u8]) -> Result<Created, Refusal> {
    use mid_provider::types::UserRepresentation;
    let provider = Provider::Mid;
    let raw: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::bad_request(provider, &format!("the body is not JSON: {e}")))?;
    match raw.get("username") {
        None | Some(Value::Null) => return Err(Refusal::bad_request(provider, MID_EMPTY_USERNAME)),
        Some(Value::String(s)) if s.is_empty() => {
            return Err(Refusal::bad_request(provider, MID_EMPTY_USERNAME));
        }
        _ => {}
    }
    let mut user: UserRepresentation = serde_json::from_value(raw).map_err(|e| {
        Refusal::bad_request(
            provider,
            &format!("the body does not match UserRepresentation in the spec: {e}"),
        )
    })?;
    // Never store a secret.
    user.credentials.clear();
    if let Some(attributes) = &mut user.attributes {
        attributes.digitanium_activation_code = None;
    }
    let username = String::clone(&user.username);
    let keys = vec![
        ("username", Some(username.as_str())),
        ("email", user.email.as_deref()),
    ];
    let record = serde_json::to_value(&user).expect("a UserRepresentation serializes");
    store(sandbox, provider, tenant, keys, record)?;
    Ok(Created {
        status: StatusCode::ACCEPTED,
        body: json!({"subSystem": 5, "status": "OK", "message": "User created successfully"}),
    })
}

/// `POST /iam/users`: 201 with the User resource: its `id`, `createdAt` and the set-password
/// `token` (a secret: answered once, never stored), never the password.
pub(crate) fn nexway(sandbox: &Sandbox, tenant: &str, body: &[u8]) -> Result<Created, Refusal> {
    use nexway_iam::types::{User, UserCreate};
    let provider = Provider::Nexway;
    let request: UserCreate = decode(provider, body, "UserCreate")?;
    let mut user = User {
        id: Some(sandbox.new_uuid().to_string()),
        created_at: Some(crate::clock::rfc3339_now()),
        authorized_customers: Some(request.authorized_customers),
        email: Some(request.email.clone()),
        emails: Some(vec![]),
        first_name: Some(request.first_name),
        last_name: Some(request.last_name),
        roles: Some(request.roles),
        status: request.status.map(Into::into),
        user_name: request.user_name.clone(),
        password: None,
        token: None,
    };
    let record = serde_json::to_value(&user).expect("a User serializes");
    user.token = Some(format!("sbx_setpw_{:016x}", crate::random_u64()).into());
    let answer = serde_json::to_value(&user).expect("a User serializes");
    let keys = vec![
        ("email", Some(request.email.as_str())),
        ("userName", request.user_name.as_deref()),
    ];
    store(sandbox, provider, tenant, keys, record)?;
    Ok(Created {
        status: StatusCode::CREATED,
        body: answer,
    })
}
