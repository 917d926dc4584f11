//! `iam create-user`.

use std::io::BufRead;

use iam_clients::{CreatedUser, NewUser, ProviderAnswer, Vendor};
use serde_json::{Value, json};

use crate::cli::{CreateUser, Output, UserFields};
use crate::exit::Failure;

/// An attribute value from text: `true`/`false` become booleans, anything else stays a string
/// (an activation code such as `10101010` must stay a string).
pub fn attribute_value(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        other => Value::String(other.to_owned()),
    }
}

/// `KEY=VALUE` or `KEY:=JSON`.
fn parse_attribute(arg: &str) -> Result<(String, Value), Failure> {
    if let Some((key, json)) = arg.split_once(":=") {
        let value = serde_json::from_str(json).map_err(|e| {
            Failure::usage(format!("--attribute {key}:=…: the value is not JSON: {e}"))
        })?;
        return Ok((key.to_owned(), value));
    }
    match arg.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), attribute_value(value))),
        _ => Err(Failure::usage(format!(
            "--attribute `{arg}`: expected KEY=VALUE or KEY:=JSON"
        ))),
    }
}

/// `--set NAME=VALUE` (a string) or `--set NAME:=JSON` (anything else): one of `vendor`'s own
/// create-request properties. Refused, naming the flag: a property the vendor does not have, a
/// string for a property that is not one, a value that is not JSON, and any secret (the command
/// line is readable by every user of the machine, in `ps`).
pub fn parse_set(vendor: Vendor, arg: &str) -> Result<(String, Value), Failure> {
    let at = arg.find('=').filter(|&i| i > 0).ok_or_else(|| {
        Failure::usage(format!(
            "--set `{arg}`: expected NAME=VALUE (a string) or NAME:=JSON (anything else)"
        ))
    })?;
    let (name, json) = match arg[..at].strip_suffix(':') {
        Some(name) => (name, true),
        None => (&arg[..at], false),
    };
    let text = &arg[at + 1..];
    let Some(takes_text) = vendor.takes_text(name) else {
        return Err(Failure::usage(format!(
            "--set {name}: {}",
            vendor.unknown_property(name)
        )));
    };
    let value = if json {
        serde_json::from_str(text).map_err(|e| {
            Failure::usage(format!(
                "--set {name}:=…: the value of `{}.{name}` is not JSON: {e}",
                vendor.name()
            ))
        })?
    } else if takes_text {
        Value::String(text.to_owned())
    } else {
        return Err(Failure::usage(format!(
            "--set {name}=…: `{}.{name}` is not a string; give it as JSON: --set {name}:={text}",
            vendor.name()
        )));
    };
    if vendor.holds_secret(name, &value) {
        return Err(Failure::usage(format!(
            "--set {name}: `{}.{name}` holds a secret, and the command line is readable by every user of this machine; give the password with --password-stdin, or put the property in an import file (iam import)",
            vendor.name()
        )));
    }
    Ok((name.to_owned(), value))
}

/// The user the flags describe, for `vendor` (the vendor of `--provider`, which `--set` sets);
/// the password from stdin when asked.
pub fn new_user(
    fields: &UserFields,
    vendor: Vendor,
    stdin: &mut dyn BufRead,
) -> Result<NewUser, Failure> {
    let mut user = NewUser {
        username: fields.username.clone(),
        email: fields.email.clone(),
        first_name: fields.first_name.clone(),
        last_name: fields.last_name.clone(),
        phone: fields.phone.clone(),
        mobile: fields.mobile.clone(),
        enabled: fields.enabled,
        roles: fields.roles.clone(),
        groups: fields.groups.clone(),
        ..NewUser::default()
    };
    for arg in &fields.attributes {
        let (key, value) = parse_attribute(arg)?;
        user.attributes.insert(key, value);
    }
    for arg in &fields.sets {
        let (name, value) = parse_set(vendor, arg)?;
        user.section_mut(vendor).insert(name, value);
    }
    if fields.password_stdin {
        let mut line = String::new();
        stdin.read_line(&mut line).map_err(|e| {
            Failure::usage(format!("--password-stdin: cannot read standard input: {e}"))
        })?;
        let password = line.trim_end_matches(['\n', '\r']);
        if password.is_empty() {
            return Err(Failure::usage(
                "--password-stdin: standard input held no password (an empty first line)",
            ));
        }
        user.password = Some(password.into());
    }
    Ok(user)
}

/// A summary of a created user, for `--output json` (no secret: the answer is summarised).
pub fn created_json(created: &CreatedUser) -> Value {
    json!({
        "provider": created.provider,
        "status": created.status,
        "username": created.username,
        "id": created.id,
        "attempts": created.attempts,
        "answer_readable": created.answer.is_some(),
    })
}

/// A one-line description of the answer for people.
pub fn describe_answer(created: &CreatedUser) -> String {
    match &created.answer {
        Some(ProviderAnswer::Entrust(user)) => format!(
            "Entrust user {} (id {}), state {}, {} alias(es)",
            shown(user.user_id.as_ref()),
            shown(user.id.as_ref()),
            shown(user.state.as_ref()),
            user.user_aliases.as_ref().map_or(0, Vec::len)
        ),
        Some(ProviderAnswer::Mid(answer)) => format!(
            "subSystem {:?}, status {:?}: {:?}",
            answer.sub_system, answer.status, answer.message
        ),
        Some(ProviderAnswer::Nexway(user)) => format!(
            "Nexway user {} <{}> (id {}), status {}",
            shown(user.user_name.as_ref()),
            shown(user.email.as_ref()),
            shown(user.id.as_ref()),
            shown(user.status.as_ref())
        ),
        None => {
            "the provider answered success with an unreadable body; the user was created".to_owned()
        }
        Some(_) => "an answer".to_owned(),
    }
}

/// A value of an answer for people; `-` when the answer left it out.
fn shown(value: Option<&impl std::fmt::Display>) -> String {
    value.map_or_else(|| "-".to_owned(), ToString::to_string)
}

pub async fn run(args: CreateUser) -> Result<(), Failure> {
    let built = crate::target::build(&args.target, false)?;
    let vendor = Vendor::of(built.provider.kind());
    let user = new_user(&args.user, vendor, &mut std::io::stdin().lock())?;
    built.provider.validate(&user)?;
    let created = match built.provider.create_user(&user).await {
        Ok(created) => created,
        Err(e) if e.is_conflict() => {
            // The user exists: say which one, when the vendor's lookup can tell.
            let found = built.provider.find_user(&user).await;
            let mut failure = Failure::from(e);
            match crate::import::lookup_note(found) {
                (Some(id), note) => {
                    failure.message.push_str(&format!("; {note}"));
                    failure.existing_id = Some(id);
                }
                (None, note) => failure.message.push_str(&format!("; {note}")),
            }
            return Err(failure);
        }
        Err(e) => {
            let mut failure = Failure::from(e);
            if failure.code == crate::exit::CREDENTIALS {
                failure.message.push_str(&format!(
                    "; the credentials came from {}: check them, or get new ones",
                    built.credentials
                ));
                failure.field = Some(built.credentials);
            }
            return Err(failure);
        }
    };
    match args.output {
        Output::Json => crate::print_stdout(&format!("{}\n", created_json(&created))),
        Output::Text => crate::print_stdout(&format!(
            "created user {} on {} ({})\n  {}\n",
            created.username.as_deref().unwrap_or("(no username)"),
            built.description,
            created.status,
            describe_answer(&created)
        )),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn set_takes_strings_and_json_and_refuses_what_it_cannot_send() {
        use Vendor::{Entrust, Mid, Nexway};
        // (vendor, argument, Ok(name, value) or Err(part of the message))
        type Case = (
            Vendor,
            &'static str,
            Result<(&'static str, Value), &'static str>,
        );
        let cases: &[Case] = &[
            (
                Entrust,
                "externalId=hr-42",
                Ok(("externalId", json!("hr-42"))),
            ),
            (
                Entrust,
                "externalId=a:=b",
                Ok(("externalId", json!("a:=b"))),
            ),
            (Entrust, "externalId=", Ok(("externalId", json!("")))),
            (Entrust, "lock:=true", Ok(("lock", json!(true)))),
            (
                Entrust,
                r#"userAliases:=[{"value":"johnny","type":"CUSTOM"}]"#,
                Ok((
                    "userAliases",
                    json!([{"value": "johnny", "type": "CUSTOM"}]),
                )),
            ),
            (
                Entrust,
                "lock=true",
                Err("is not a string; give it as JSON: --set lock:=true"),
            ),
            (Entrust, "lock:=maybe", Err("is not JSON")),
            (Entrust, "colour=red", Err("has no property `colour`")),
            (Entrust, "externalId", Err("expected NAME=VALUE")),
            (Entrust, "=x", Err("expected NAME=VALUE")),
            (
                Mid,
                r#"credentials:=[{"temporary":false,"type":"password"}]"#,
                Ok((
                    "credentials",
                    json!([{"temporary": false, "type": "password"}]),
                )),
            ),
            (
                Mid,
                r#"credentials:=[{"value":"s3cret"}]"#,
                Err("holds a secret"),
            ),
            (
                Mid,
                r#"attributes:={"digitaniumActivationCode":"10101010"}"#,
                Err("holds a secret"),
            ),
            (Nexway, "password=s3cret", Err("holds a secret")),
            (
                Nexway,
                r#"authorizedCustomers:=[{"customerId":"c1"}]"#,
                Ok(("authorizedCustomers", json!([{"customerId": "c1"}]))),
            ),
        ];
        for (vendor, arg, expected) in cases {
            match (parse_set(*vendor, arg), expected) {
                (Ok((name, value)), Ok((want_name, want_value))) => {
                    assert_eq!((name.as_str(), &value), (*want_name, want_value), "{arg}");
                }
                (Err(e), Err(part)) => {
                    assert!(
                        e.message.contains(part),
                        "{arg}: `{}` lacks `{part}`",
                        e.message
                    );
                    assert!(
                        !e.message.contains("s3cret") && !e.message.contains("10101010"),
                        "{}",
                        e.message
                    );
                }
                (got, _) => panic!("{arg}: got {:?}", got.map_err(|e| e.message)),
            }
        }
    }
}
