//! The quickstart example (the README's examples, against the simulator) runs.

#[path = "../examples/quickstart.rs"]
#[allow(dead_code)]
mod quickstart;

#[tokio::test]
async fn the_readme_examples_run_against_the_simulator() {
    let sandbox = iam_sandbox::Sandbox::new(Default::default()).unwrap();
    let running = sandbox.start(Default::default()).await.unwrap();
    let lines = quickstart::run(
        running.url(),
        running.addr(),
        sandbox.token().expose_secret(),
    )
    .await
    .unwrap();
    assert_eq!(lines.len(), 4);
    assert!(
        lines[0].starts_with("entrust:   200 Some(\"john\") id Some("),
        "{lines:?}"
    );
    assert_eq!(lines[1], "mid-ssms:  202 Some(\"ngk\")");
    assert_eq!(
        lines[2],
        "mid-shift: mid-shift: user already exists (409): \"User exists with same username\""
    );
    assert_eq!(lines[3], "nexway:    201 Some(\"ada\")");
}
