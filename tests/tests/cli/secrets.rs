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

/// A fixture key, 32 bytes as hex (never a real one).
const SECRET_KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn integrations_set_through_the_api_are_stored_encrypted() {
    use serde_json::json;
    use switchboard_tests::harness::{X_ACCESS_TOKEN, X_ACCOUNT_ID, X_INTEGRATION};

    let sim = PlatformSim::start(sim_config()).await.unwrap();
    let dir = TempDir::new("sealed-integrations");
    let config = TestConfig::new(&dir, &sim.base_url());
    let db = config.db_path.clone();
    let config_path = dir.path().join("switchboard.toml");
    let mut host = HostProcess::start_with_env(
        dir,
        &config.render(),
        &[],
        &[("SWITCHBOARD_SECRET_KEY", SECRET_KEY)],
    )
    .await;
    let secret = "fixture-access-token-sealed-7f3a";
    let put = host
        .api()
        .put_json(
            &format!("/admin/v1/integrations/{X_INTEGRATION}"),
            Some(ADMIN_TOKEN),
            &json!({
                "adapter": "x",
                "flow": "support",
                "settings": {
                    "consumer_secret": X_CONSUMER_SECRET,
                    "access_token": secret,
                    "account_id": X_ACCOUNT_ID,
                    "api_base": sim.base_url(),
                }
            }),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    assert_ne!(secret, X_ACCESS_TOKEN);

    // Neither the database nor its write-ahead log holds the credential in the clear.
    let at_rest =
        |suffix: &str| std::fs::read(format!("{}{suffix}", db.display())).unwrap_or_default();
    for suffix in ["", "-wal"] {
        let bytes = at_rest(suffix);
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the access token is readable in switchboard.db{suffix}"
        );
    }
    // With the key, a restart reads it back.
    host.restart().await;
    let listed = host
        .api()
        .get(
            &format!("/admin/v1/integrations/{X_INTEGRATION}"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    host.kill();

    // Without the key the host refuses to start, and says what to set.
    let mut serve = std::process::Command::new(switchboard_tests::harness::host_binary());
    serve
        .args(["serve", "--config"])
        .arg(&config_path)
        .env_remove("SWITCHBOARD_SECRET_KEY")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = serve.spawn().unwrap();
    let deadline = std::time::Instant::now() + switchboard_tests::harness::WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            panic!("the host started without the key to its encrypted integrations");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains(&format!(
            "integration `{X_INTEGRATION}` is stored encrypted and no key is set: set SWITCHBOARD_SECRET_KEY"
        )),
        "{stderr}"
    );
}

#[test]
fn hash_token_prints_a_hash_the_host_accepts() {
    use std::io::Write;
    let mut child = std::process::Command::new(switchboard_tests::harness::host_binary())
        .arg("hash-token")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "fixture-agent-token-1").unwrap();
    let output = child.wait_with_output().unwrap();
    let hash = switchboard_tests::harness::succeeded(&output);
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains("fixture-agent-token-1"));
    // The configuration takes it as `token_hash`.
    let config = format!(
        "[[queue]]\nid = \"support\"\n[[agent]]\nid = \"ann\"\ntoken_hash = \"{hash}\"\nqueues = [\"support\"]\n"
    );
    let parsed = switchboard::config::Config::parse(&config).unwrap();
    assert!(switchboard::config::credentials::verify_token(
        "fixture-agent-token-1",
        parsed.agents[0].token_hash.as_deref().unwrap()
    ));
}
