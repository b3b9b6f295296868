//! `[retention]`: a host started on a store with interactions that ended long ago deletes their
//! messages at start, logs it, and keeps those of recent and open ones.

use std::time::Duration;

use switchboard_tests::harness::{TestEnv, X_INTEGRATION, run_cli, succeeded, transcript};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_messages_are_deleted_at_start() {
    let mut env = TestEnv::start("retention", |c| {
        c.extra_toml
            .push_str("\n[retention]\nmessages_days = 20\ninbox_days = 1\n");
    })
    .await;
    env.host
        .terminate(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    // Eight interactions that ended 30, 27, ... 9 days ago and two waiting for 6 and 3 days
    // (customers prefill-0 to prefill-9), each with the customer's message and a reply.
    let config = env.host.dir().join("switchboard.toml");
    succeeded(&run_cli(|c| {
        c.arg("bench-prefill")
            .arg("--config")
            .arg(&config)
            .args(["--conversations", "10", "--waiting", "2"])
            .args(["--integration", X_INTEGRATION]);
    }));
    env.host.restart().await;
    // 30, 27, 24 and 21 days ago: four interactions, eight messages.
    env.host
        .wait_for_log("retention at start", "retention: deleted old data")
        .await;
    assert!(
        env.host.log_tail(200).contains("messages=8"),
        "{}",
        env.host.log_tail(200)
    );

    let messages_of = |customer: &'static str| {
        let env = &env;
        async move {
            let found = env
                .admin_get(&format!("/api/v1/search?customer={customer}"))
                .await;
            let id = found["interactions"][0]["id"]
                .as_str()
                .unwrap_or_else(|| panic!("{customer}: {found}"))
                .to_string();
            let interaction = env.interaction(&id).await;
            (interaction["state"].clone(), transcript(&interaction).len())
        }
    };
    assert_eq!(messages_of("prefill-0").await, ("ended".into(), 0));
    assert_eq!(messages_of("prefill-3").await, ("ended".into(), 0));
    assert_eq!(messages_of("prefill-4").await, ("ended".into(), 2));
    assert_eq!(messages_of("prefill-9").await, ("queued".into(), 1));
}
