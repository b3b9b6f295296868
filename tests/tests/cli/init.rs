//! `switchboard init`: a starter configuration an admin can edit and serve from, never written
//! over an existing one.

use switchboard_tests::harness::{TempDir, run_cli, succeeded};

#[test]
fn init_writes_a_starter_config_the_host_reads_and_keeps_an_existing_one() {
    let dir = TempDir::new("init");
    let file = dir.path().join("switchboard.toml");
    let said = succeeded(&run_cli(|c| {
        c.arg("init").arg(&file);
    }));
    assert!(said.contains("switchboard serve --config"), "{said}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains("[server]") && written.contains("# "),
        "{written}"
    );

    // The host reads it: the demo flow's queues are the ones it configures.
    succeeded(&run_cli(|c| {
        c.args(["flow", "validate", "flows/support.yaml", "--config"])
            .arg(&file);
    }));

    std::fs::write(&file, "# mine\n").unwrap();
    let again = run_cli(|c| {
        c.arg("init").arg(&file);
    });
    assert!(!again.status.success());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
}
