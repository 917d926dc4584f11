//! No secret of the vendors' token flows (shared secret, client secret, issued tokens, refresh
//! tokens, Nexway's set-password token) in `Debug`, errors or traces at TRACE level.

mod common;
mod vendor_common;

use std::time::Duration;

use iam_clients::{EntrustAdminAuth, NexwayJwt};
use vendor_common::*;

#[tokio::test]
async fn no_secret_in_debug_errors_or_traces_at_trace_level() {
    let (captured, _guard) = common::capture_traces();

    let (sandbox, running) = sandbox(Duration::from_secs(2)).await;
    let mut printed = String::new();
    let entrust = entrust_client(&running, SHARED_SECRET);
    let nexway = nexway_client(&running, CLIENT_SECRET);
    printed += &format!("{entrust:?} {nexway:?}");
    let url = entrust_url(&running);
    let auth = EntrustAdminAuth::new(&url, APP_ID, SHARED_SECRET, &Default::default()).unwrap();
    let jwt = NexwayJwt::new(running.url(), REALM, CLIENT_SECRET, &Default::default()).unwrap();
    printed += &format!("{auth:?} {jwt:?}");
    let created = entrust.create_user(&entrust_user(1)).await.unwrap();
    printed += &format!("{created:?}");
    let created = nexway.create_user(&nexway_user(1)).await.unwrap();
    printed += &format!("{created:?}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    nexway.create_user(&nexway_user(2)).await.unwrap();
    sandbox.revoke_tokens();
    entrust.create_user(&entrust_user(2)).await.unwrap();
    for bad in [
        entrust_client(&running, "vt-wrong-SECRET")
            .create_user(&entrust_user(3))
            .await,
        nexway_client(&running, "vt-wrong-SECRET")
            .create_user(&nexway_user(3))
            .await,
    ] {
        let err = bad.unwrap_err();
        printed += &format!("{err} {err:?}");
    }
    let traces = captured.text();
    assert!(traces.contains("iam.request"), "{traces}");
    // The Nexway answer carries the set-password token; it must not show either.
    for text in [&printed, &traces] {
        assert!(!text.contains("SECRET"), "a secret shows:\n{text}");
        assert!(
            !text.contains("sbx_setpw_"),
            "the set-password token shows:\n{text}"
        );
        assert!(
            !text.contains("sbx_en_") && !text.contains("sbx_nxat_") && !text.contains("sbx_nxrt_"),
            "an issued token shows:\n{text}"
        );
    }
}
