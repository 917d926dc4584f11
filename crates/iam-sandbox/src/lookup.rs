//! Finding a user, where the vendor publishes a lookup (Entrust only: Nexway's answer shape is not
//! published and mID publishes none, so their specs have no lookup and neither has the
//! simulator). The request is checked by decoding it into the generated request type and the
//! answer is the generated response type, as for the create routes; the user answered is the one
//! the create call stored, with its id.

use axum::http::StatusCode;

use crate::create::{Created, Refusal, decode};
use crate::{Provider, Sandbox};

/// `POST /api/web/v3/users/userid`: the user whose `userId` or one of whose `userAliases`
/// values is the `userId` sent (ignoring case, as the conflict rule compares), as the `User`
/// the create call answered; a user ID before an alias, then the oldest. No such user: 404
/// with `ErrorInfo` (`errorCode` `USER_NOT_FOUND`, the simulator's choice).
pub(crate) fn entrust(sandbox: &Sandbox, tenant: &str, body: &[u8]) -> Result<Created, Refusal> {
    use entrust_idaas::types::{User, UserGetParms};
    let provider = Provider::Entrust;
    let wanted: UserGetParms = decode(provider, body, "UserGetParms")?;
    let wanted = wanted.user_id;
    let has_alias = |user: &serde_json::Value| {
        user.get("userAliases")
            .and_then(|a| a.as_array())
            .is_some_and(|aliases| {
                aliases.iter().any(|alias| {
                    alias
                        .get("value")
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| v.to_lowercase() == wanted.to_lowercase())
                })
            })
    };
    let found = sandbox
        .inner
        .store
        .lock()
        .expect("store lock")
        .find(provider, tenant, ("userId", &wanted), has_alias)
        .into_iter()
        .next();
    let Some(stored) = found else {
        return Err(Refusal::new(
            provider,
            StatusCode::NOT_FOUND,
            "USER_NOT_FOUND",
            &format!("No user has the user ID or alias `{wanted}`."),
        ));
    };
    // The stored record is the create call's answer; read back as the generated type, so that
    // the answer is a `User` whatever a state file held.
    let user: User = serde_json::from_value(stored).map_err(|e| {
        Refusal::new(
            provider,
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL_ERROR",
            &format!("iam-sandbox: a stored user is not a User: {e}"),
        )
    })?;
    Ok(Created {
        status: StatusCode::OK,
        body: serde_json::to_value(&user).expect("a User serializes"),
    })
}
