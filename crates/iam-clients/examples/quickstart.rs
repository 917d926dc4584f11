//! Creates a user on each provider, against the simulator started in this process.
//!
//! `cargo run -p iam-clients --example quickstart`

use iam_clients::{Connection, EntrustClient, MidClient, NewUser, NexwayClient};
use iam_sandbox::{Sandbox, ServeOptions};

/// The README's examples, pointed at a simulator listening on `url` with `token`.
pub async fn run(
    url: &str,
    addr: std::net::SocketAddr,
    token: &str,
) -> Result<Vec<String>, iam_clients::Error> {
    let mut lines = Vec::new();
    let port = addr.port();
    // A tenant in the host name: acme.sandbox.localhost, pinned to the simulator.
    let tenant_url = format!("http://acme.sandbox.localhost:{port}");
    let in_tenant = |url: &str| {
        Connection::new(url)
            .resolve("acme.sandbox.localhost", addr)
            .bearer(token)
    };

    let entrust = EntrustClient::new(in_tenant(&tenant_url))?;
    let user = NewUser::builder()
        .username("john")
        .email("johnsmith@organization.com")
        .first_name("john")
        .last_name("smith")
        .mobile("+16138561234")
        .build();
    let created = entrust.create_user(&user).await?;
    lines.push(format!(
        "entrust:   {} {:?} id {:?}",
        created.status, created.username, created.id
    ));

    let ssms = MidClient::ssms(in_tenant(&tenant_url))?;
    let shift = MidClient::shift(Connection::new(url).bearer(token), "acme")?;
    let user = NewUser::builder()
        .username("ngk")
        .email("aaa@aaa.com")
        .password("initial-pw")
        .enabled(true)
        .role("realm_role1")
        .group("ks-users")
        .build();
    let created = ssms.create_user(&user).await?;
    lines.push(format!(
        "mid-ssms:  {} {:?}",
        created.status, created.username
    ));
    let again = shift.create_user(&user).await.unwrap_err();
    lines.push(format!("mid-shift: {again}"));

    let nexway = NexwayClient::new(Connection::new(url).bearer(token))?;
    let user = NewUser::builder()
        .username("ada")
        .email("ada@example.com")
        .first_name("Ada")
        .last_name("Lovelace")
        .password("correct horse battery staple")
        .build();
    let created = nexway.create_user(&user).await?;
    lines.push(format!(
        "nexway:    {} {:?}",
        created.status, created.username
    ));
    Ok(lines)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::new(Default::default())?;
    let running = sandbox.start(ServeOptions::default()).await?;
    println!("simulator at {}", running.url());
    for line in run(
        running.url(),
        running.addr(),
        sandbox.token().expose_secret(),
    )
    .await?
    {
        println!("{line}");
    }
    Ok(())
}
