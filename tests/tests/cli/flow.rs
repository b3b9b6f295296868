//! `switchboard flow ...` and the flows folder of `switchboard serve --watch`.

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, Setup, TestEnv, WAIT, eventually, succeeded, workspace_dir,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn flows_publish_from_the_cli_and_from_a_watched_folder() {
    let v1 = std::fs::read_to_string(workspace_dir().join("flows/support.yaml")).unwrap();
    let env = TestEnv::start_with("flow-watch", Setup::watching(), |c| {
        c.own_flows(&[]);
    })
    .await;
    let (host, api) = (&env.host, &env.api);
    let flows = host.dir().join("flows");
    let version = || async {
        api.get("/admin/v1/flows/support", Some(ADMIN_TOKEN))
            .await
            .json()["version"]
            .clone()
    };

    // A broken file in the watched folder is reported and never replaces the working version.
    std::fs::write(flows.join("support.yaml"), "start: nowhere\nsteps: {}\n").unwrap();
    host.wait_for_log("the broken file reported", "support.yaml does not validate")
        .await;
    assert_eq!(version().await, json!(1));

    // A valid change is published.
    std::fs::write(
        flows.join("support.yaml"),
        v1.replace("thanks for writing to us.", "hello from the folder."),
    )
    .unwrap();
    eventually("the watched change published", WAIT, || async {
        let v = version().await;
        if v == json!(2) {
            Ok(())
        } else {
            Err(v.to_string())
        }
    })
    .await;

    // A file added after start is a new flow, published when it appears.
    std::fs::write(flows.join("extra.yaml"), &v1).unwrap();
    eventually("the added file published", WAIT, || async {
        let listed = api.get("/admin/v1/flows/extra", Some(ADMIN_TOKEN)).await;
        if listed.status == 200 && listed.json()["version"] == json!(1) {
            Ok(())
        } else {
            Err(listed.text())
        }
    })
    .await;

    // `switchboard flow publish` talks to the admin API.
    let file = host.dir().join("cli.yaml");
    std::fs::write(
        &file,
        v1.replace("thanks for writing to us.", "hello from the CLI."),
    )
    .unwrap();
    let output = host.cli_publish("flow", &file, "support", ADMIN_TOKEN);
    assert_eq!(succeeded(&output), "support: version 3 (published)");
    assert_eq!(version().await, json!(3));
    let bad = host.cli_publish("flow", &file, "support", "wrong-token");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}
