//! `iam create-user`.

use std::io::BufRead;

use iam_clients::{CreatedUser, NewUser, ProviderAnswer};
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

/// The user the flags describe; the password from stdin when asked.
pub fn new_user(fields: &UserFields, stdin: &mut dyn BufRead) -> Result<NewUser, Failure> {
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
    let user = new_user(&args.user, &mut std::io::stdin().lock())?;
    built.provider.validate(&user)?;
    let created = built.provider.create_user(&user).await?;
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
