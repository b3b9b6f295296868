//! Secrets kept out of the configuration file: the X integration's consumer secret comes from
//! an environment variable (`"${NAME}"`) and the admin token from a file (`admin_token_file`),
//! as systemd credentials or container secrets provide them.

use switchboard_tests::fixtures::UniqueIds;
use switchboard_tests::harness::{
    ADMIN_TOKEN, HostProcess, TempDir, TestConfig, TestEnv, X_CONSUMER_SECRET, sim_config,
};
use switchboard_tests::sim::PlatformSim;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_from_the_environment_and_files_are_used() {
    let sim = PlatformSim::start(sim_config()).await.unwrap();
    let dir = TempDir::new("secrets");
    let rendered = TestConfig::new(&dir, &sim.base_url()).render();
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, format!("{ADMIN_TOKEN}\n")).unwrap();
    let inline_secret = format!("consumer_secret = \"{X_CONSUMER_SECRET}\"");
    let inline_admin = format!("admin_token = \"{ADMIN_TOKEN}\"");
    assert!(rendered.contains(&inline_secret) && rendered.contains(&inline_admin));
    let config = rendered
        .replace(&inline_secret, "consumer_secret = \"${SB_TEST_X_SECRET}\"")
        .replace(
            &inline_admin,
            &format!("admin_token_file = {:?}", token_file.display().to_string()),
        );
    assert!(!config.contains(X_CONSUMER_SECRET) && !config.contains(ADMIN_TOKEN));
    let host = HostProcess::start_with_env(
        dir,
        &config,
        &[],
        &[("SB_TEST_X_SECRET", X_CONSUMER_SECRET)],
    )
    .await;
    sim.set_host_base_url(host.base_url());
    let env = TestEnv {
        api: host.api(),
        sim,
        host,
        ids: UniqueIds::new(),
    };

    // X signs the webhook with the consumer secret: accepted only if the host has the real one.
    env.send_dm_text("1700000000000000088", "hello").await;
    let replies = env.texts_to("1700000000000000088", 1).await;
    assert!(replies[0].starts_with("Hi "), "{replies:?}");
    // The admin token read from the file opens the admin API.
    env.admin_get("/admin/v1/flows").await;
    let wrong = env.api.get("/admin/v1/flows", Some("admin-token")).await;
    assert_eq!(wrong.status, 401);
}
