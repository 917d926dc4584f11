//! `iam demo`: the simulator in this process, a user on each endpoint, then a small import.

use std::path::PathBuf;

use iam_clients::{Connection, EntrustClient, MidClient, NewUser, NexwayClient, ProviderAnswer};
use iam_sandbox::{Sandbox, ServeOptions};
use serde_json::Value;

use crate::cli::{Format, Import, Output, ProviderArg, Target};
use crate::exit::Failure;

/// The CSV `iam demo` imports: 40 Nexway users, 2 of them invalid on purpose.
const DEMO_CSV: &str = include_str!("../demo/users.csv");

/// Replaces by `***` every string equal to one of `secrets`, and every string under a
/// secret-named member (an answer's Nexway set-password `token`, Entrust's
/// `tempAccessCode.code`: secrets the demo does not know in advance).
fn redact(value: &mut Value, secrets: &[&str]) {
    match value {
        Value::String(s) if secrets.contains(&s.as_str()) => *s = "***".to_owned(),
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, secrets)),
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| match v {
            Value::String(s) if iam_clients::is_secret_attribute(k) => *s = "***".to_owned(),
            v => redact(v, secrets),
        }),
        _ => {}
    }
}

fn show(value: impl serde::Serialize, secrets: &[&str]) -> String {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    redact(&mut value, secrets);
    value.to_string()
}

fn answered(answer: &Option<ProviderAnswer>, secrets: &[&str]) -> String {
    match answer {
        Some(ProviderAnswer::Entrust(user)) => show(&**user, secrets),
        Some(ProviderAnswer::Mid(status)) => show(status, secrets),
        Some(ProviderAnswer::Nexway(user)) => show(&**user, secrets),
        _ => "(no readable body)".to_owned(),
    }
}

fn step(n: usize, title: &str, url: &str, sent: String, status: u16, answer: String) -> String {
    format!("{n}/4 {title}\n  POST {url}\n  sent:     {sent}\n  answered: {status} {answer}\n\n")
}

pub async fn run() -> Result<(), Failure> {
    let sandbox = Sandbox::new(Default::default()).map_err(|e| Failure::new(1, e.to_string()))?;
    let running = sandbox
        .start(ServeOptions::default())
        .await
        .map_err(|e| Failure::new(1, e.to_string()))?;
    let url = running.url().to_owned();
    let addr = running.addr();
    let token = sandbox.token().expose_secret().to_owned();
    let tenant_url = format!("http://acme.sandbox.localhost:{}", addr.port());
    let in_tenant = || {
        Connection::new(&tenant_url)
            .resolve("acme.sandbox.localhost", addr)
            .bearer(token.clone())
    };
    let mut out = format!("iam demo: the simulator is listening on {url}, in this process.\n\n");

    let password = "Demo-Passw0rd!";
    let activation = "10101010";
    let secrets = [password, activation, token.as_str()];

    let entrust = EntrustClient::new(in_tenant())?;
    let john = NewUser::builder()
        .username("john")
        .email("johnsmith@organization.com")
        .first_name("john")
        .last_name("smith")
        .mobile("+16138561234")
        .phone("+161385699876")
        .enabled(true)
        // The rest of Entrust's sample request, in the user's `entrust` section.
        .entrust("locale", "")
        .entrust(
            "userAliases",
            serde_json::json!([{"value": "johnny", "type": "CUSTOM"}]),
        )
        .build();
    let sent = show(entrust.request_for(&john)?, &secrets);
    let created = entrust.create_user(&john).await?;
    out.push_str(&step(
        1,
        "Entrust IDaaS (account acme)",
        &format!("{tenant_url}/api/web/v3/users"),
        sent,
        created.status,
        answered(&created.answer, &secrets),
    ));

    let ssms = MidClient::ssms(in_tenant())?;
    let ngk = NewUser::builder()
        .username("ngk")
        .email("aaa@aaa.com")
        .first_name("first")
        .last_name("last")
        .password(password)
        .enabled(true)
        .role("realm_role1")
        .group("ks-users")
        .attribute("digitaniumUserIdOnboardingType", "onscreen")
        .attribute("digitaniumActivationCode", activation)
        // mID's own property from its sample request, in the user's `mid` section.
        .mid(
            "clientRoles",
            serde_json::json!({"client_Name": ["client_role1", "client_role2"]}),
        )
        .build();
    let sent = show(ssms.request_for(&ngk)?, &secrets);
    let created = ssms.create_user(&ngk).await?;
    out.push_str(&step(
        2,
        "mID Provider SSMS (tenant acme, in the host name)",
        &format!("{tenant_url}/digitanium/v4/users"),
        sent,
        created.status,
        answered(&created.answer, &secrets),
    ));

    let shift = MidClient::shift(Connection::new(&url).bearer(token.clone()), "acme")?;
    let ngk2 = NewUser {
        username: Some("ngk2".into()),
        email: Some("bbb@aaa.com".into()),
        ..ngk.clone()
    };
    let sent = show(shift.request_for(&ngk2)?, &secrets);
    let created = shift.create_user(&ngk2).await?;
    out.push_str(&step(
        3,
        "mID Provider SHIFT (tenant acme, in the path)",
        &format!("{url}/auth/realms/acme/v3_user"),
        sent,
        created.status,
        answered(&created.answer, &secrets),
    ));

    let nexway = NexwayClient::new(Connection::new(&url).bearer(token.clone()))?;
    let ada = NewUser::builder()
        .username("ada")
        .email("ada@example.com")
        .first_name("Ada")
        .last_name("Lovelace")
        .password(password)
        .enabled(true)
        .role("admin")
        .build();
    let sent = show(nexway.request_for(&ada)?, &secrets);
    let created = nexway.create_user(&ada).await?;
    out.push_str(&step(
        4,
        "Nexway IAM",
        &format!("{url}/iam/users"),
        sent,
        created.status,
        answered(&created.answer, &secrets),
    ));

    let again = nexway.create_user(&ada).await.unwrap_err();
    out.push_str(&format!("The same Nexway user again: {again}\n\n"));
    crate::print_stdout(&out);

    // A small import, with the progress bar, journal and rejects in a folder of their own.
    let dir = std::env::temp_dir().join(format!("iam-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new(1, format!("{}: {e}", dir.display())))?;
    let file = dir.join("users.csv");
    std::fs::write(&file, DEMO_CSV)
        .map_err(|e| Failure::new(1, format!("{}: {e}", file.display())))?;
    crate::print_stdout(&format!(
        "Importing {} (40 rows, 2 invalid on purpose) into Nexway:\n",
        file.display()
    ));
    let args = Import {
        target: placeholder_target(&url),
        file: file.clone(),
        format: Some(Format::Csv),
        map: Vec::new(),
        ignore_column: Vec::new(),
        delimiter: None,
        concurrency: 8,
        dry_run: false,
        journal: None,
        no_journal: false,
        rejects: None,
        results: None,
        skip_unknown: false,
        existing: crate::cli::Existing::Fail,
        rate: None,
        output: Output::Text,
    };
    let built = crate::target::Built {
        provider: Box::new(NexwayClient::new(
            Connection::new(&url).bearer(token.clone()),
        )?),
        description: format!("nexway at {url}"),
        target: crate::journal::Target::new("nexway", &url, None),
        credentials: "the demo's token".to_owned(),
    };
    let result = crate::import::run_with(args, built).await;
    let rejects = std::fs::read_to_string(dir.join("users.csv.rejects")).unwrap_or_default();
    crate::print_stdout(&format!(
        "\nThe rejects file lists the two bad rows:\n{rejects}\nRun it again and nothing is sent twice: `iam import` reads its journal first.\n"
    ));
    let _ = std::fs::remove_dir_all(&dir);
    match result {
        // 2 rows are rejected on purpose: that is the expected outcome of the demo.
        Err(f) if f.code == crate::exit::REFUSED => Ok(()),
        other => other,
    }
}

fn placeholder_target(url: &str) -> Target {
    Target {
        provider: ProviderArg::Nexway,
        base_url: Some(url.to_owned()),
        domain: None,
        region: None,
        tenant: None,
        hostname: None,
        token_file: None,
        token_url: None,
        ca_cert: None::<PathBuf>,
        resolve: vec![],
        timeout: 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_in_answers_are_redacted_by_value_and_by_name() {
        let mut answer = json!({
            "id": "u1", "token": "setpw-1", "password": "pw", "userName": "ada",
            "tempAccessCode": {"code": "tac-1", "maxUses": 1},
            "tokens": [{"type": "ENTRUST_SOFT_TOKEN", "serialNumber": "62461"}],
            "note": "known-secret",
        });
        redact(&mut answer, &["known-secret"]);
        assert_eq!(
            answer,
            json!({
                "id": "u1", "token": "***", "password": "***", "userName": "ada",
                "tempAccessCode": {"code": "***", "maxUses": 1},
                "tokens": [{"type": "ENTRUST_SOFT_TOKEN", "serialNumber": "62461"}],
                "note": "***",
            })
        );
    }
}
