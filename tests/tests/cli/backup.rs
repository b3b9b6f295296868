//! `switchboard backup FILE` while a host serves, and the restore docs/production.md describes:
//! stop the host, put the file in place, start a host on it; the conversation is there.

use std::time::Duration;

use switchboard_tests::harness::{
    ADMIN_TOKEN, HostProcess, TempDir, TestConfig, TestEnv, run_cli, succeeded, texts, transcript,
};

const CUSTOMER: &str = "1700000000000000301";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_serving_restores_the_conversations() {
    let mut env = TestEnv::start("backup", |_| {}).await;
    env.send_dm_text(CUSTOMER, "my order 4411 is late").await;
    let greeting = texts(&env.wait_delivered_to(CUSTOMER, 2).await);
    assert!(greeting[0].starts_with("Hi "), "{greeting:?}");

    // The host keeps serving during the copy: another customer writes meanwhile.
    let config = env.host.dir().join("switchboard.toml");
    let backups = TempDir::new("backup-files");
    let file = backups.path().join("switchboard-backup.db");
    let (cli_config, cli_file) = (config.clone(), file.clone());
    let copy = tokio::task::spawn_blocking(move || {
        run_cli(|c| {
            c.arg("backup")
                .arg(&cli_file)
                .arg("--config")
                .arg(&cli_config);
        })
    });
    env.send_dm_text("1700000000000000302", "hello").await;
    let out = succeeded(&copy.await.unwrap());
    assert!(
        out.starts_with(&format!("wrote {}: ", file.display())) && out.contains(" conversations"),
        "{out}"
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(out.contains(&format!("{size} bytes")), "{out}");

    // An existing backup is never replaced without --force.
    let again = run_cli(|c| {
        c.arg("backup").arg(&file).arg("--config").arg(&config);
    });
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("exists already; pass --force to replace it"),
        "{said}"
    );
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);

    // Restore: stop the host, copy the backup into a new host's store path, start it.
    let (status, _) = env
        .host
        .terminate(Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert!(status.success());
    let dir = TempDir::new("restored");
    let restored_config = TestConfig::new(&dir, &env.sim.base_url());
    std::fs::copy(&file, &restored_config.db_path).unwrap();
    let restored = HostProcess::start(dir, &restored_config.render()).await;
    let api = restored.api();

    let found = api
        .get(
            &format!("/api/v1/search?customer={CUSTOMER}"),
            Some(ADMIN_TOKEN),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.text());
    let found = found.json();
    let interactions = found["interactions"].as_array().unwrap();
    assert_eq!(interactions.len(), 1, "{found:#}");
    let id = interactions[0]["id"].as_str().unwrap();
    let shown = api
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN_TOKEN))
        .await;
    assert_eq!(shown.status, 200, "{}", shown.text());
    let messages = transcript(&shown.json());
    assert_eq!(
        messages[0],
        (
            "inbound".to_string(),
            "customer".to_string(),
            "my order 4411 is late".to_string(),
            "received".to_string()
        ),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(direction, _, text, _)| direction == "outbound" && text == &greeting[0]),
        "{messages:?}"
    );
}

#[test]
fn a_postgresql_store_is_pointed_at_pg_dump() {
    let dir = TempDir::new("backup-pg");
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        "[store]\nurl = \"postgres://switchboard@127.0.0.1:5432/switchboard\"\n",
    )
    .unwrap();
    let file = dir.path().join("copy.db");
    let out = run_cli(|c| {
        c.arg("backup").arg(&file).arg("--config").arg(&config);
    });
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("pg_dump") && said.contains("docs/production.md"),
        "{said}"
    );
    assert!(!file.exists());
}
