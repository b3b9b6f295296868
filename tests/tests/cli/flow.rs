//! `switchboard flow validate|graph|test|publish` and the flows folder of
//! `switchboard serve --watch`.

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, Setup, TempDir, TestConfig, TestEnv, WAIT, eventually, eventually_eq,
    invalid_flow, plugins_dir, run_cli, succeeded, workspace_dir,
};

/// The standard output and error of a command, as text.
fn output_text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `flow validate` says a good file is ok, and prints every error of a broken one with its line
/// and column; with `--config` it also knows which queues exist.
#[test]
fn flow_validate_prints_every_error_with_its_line_and_column() {
    let ok = run_cli(|c| {
        c.args(["flow", "validate", "flows/support.yaml"]);
    });
    let said = succeeded(&ok);
    assert!(
        said.starts_with("flows/support.yaml: ok (") && said.ends_with(" steps)"),
        "{said}"
    );

    let dir = TempDir::new("cli-validate");
    let broken = invalid_flow();
    let config = dir.path().join("switchboard.toml");
    std::fs::write(
        &config,
        TestConfig::new(&dir, "http://127.0.0.1:9").render(),
    )
    .unwrap();
    for (with_config, lines) in [
        (false, &[5, 11, 15, 16, 20][..]),
        (true, &[5, 11, 15, 16, 20, 23][..]),
    ] {
        let output = run_cli(|c| {
            c.args(["flow", "validate"]).arg(&broken);
            if with_config {
                c.arg("--config").arg(&config);
            }
        });
        let (stdout, stderr) = output_text(&output);
        assert!(!output.status.success(), "{stdout}{stderr}");
        let located: Vec<&str> = stdout.lines().filter(|l| l.contains(":line ")).collect();
        assert_eq!(located.len(), lines.len(), "{stdout}");
        for (line, reported) in lines.iter().zip(&located) {
            assert!(
                reported.starts_with(&format!("{}:line {line}, column ", broken.display())),
                "{reported}"
            );
        }
        assert!(
            stdout.ends_with(&format!("{}: {} error(s)\n", broken.display(), lines.len())),
            "{stdout}"
        );
        assert_eq!(
            stdout.contains("queue `no-such-queue` is not configured"),
            with_config,
            "{stdout}"
        );
    }
}

/// `flow graph` draws a flow's steps and branches as Mermaid (the default) and as Graphviz DOT;
/// a broken flow is not drawn, its errors are printed.
#[test]
fn flow_graph_draws_mermaid_and_dot() {
    let dir = TempDir::new("cli-graph");
    let flow = dir.path().join("small.yaml");
    std::fs::write(
        &flow,
        r#"start: greet
on_error: sorry
steps:
  greet:
    type: send
    text: Hello
    next: route
  route:
    type: decision
    condition: 'message.text == "billing"'
    then: to_billing
    else: sorry
  to_billing:
    type: transfer
    queue: billing
  sorry:
    type: disconnect
"#,
    )
    .unwrap();
    let mermaid = succeeded(&run_cli(|c| {
        c.args(["flow", "graph"]).arg(&flow);
    }));
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    for edge in [
        "start((start)) --> s_greet",
        "s_greet --> s_route",
        "s_route -->|\"then\"| s_to_billing",
        "s_route -->|\"else\"| s_sorry",
        "on_error((on error)) -.-> s_sorry",
    ] {
        assert!(mermaid.contains(edge), "no {edge:?} in:\n{mermaid}");
    }
    let dot = succeeded(&run_cli(|c| {
        c.args(["flow", "graph"])
            .arg(&flow)
            .args(["--format", "dot"]);
    }));
    assert!(dot.starts_with("digraph flow {"), "{dot}");
    assert!(dot.contains("\"start\" -> \"s_greet\";"), "{dot}");

    let broken = invalid_flow();
    let output = run_cli(|c| {
        c.args(["flow", "graph"]).arg(&broken);
    });
    let (stdout, stderr) = output_text(&output);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.is_empty(), "nothing is drawn: {stdout}");
    assert!(
        stderr.contains("line 16, column 5: step `route`: `then` names step `nowhere`"),
        "{stderr}"
    );
}

/// `flow test` plays a scripted conversation against the flow with the real engine: it passes
/// when every reply is the script's, and says which reply differed when one is not.
#[test]
fn flow_test_runs_a_scripted_conversation() {
    let plugins = plugins_dir();
    let script = workspace_dir().join("flows/scripts/support--billing.yaml");
    let passed = run_cli(|c| {
        c.args(["flow", "test", "flows/support.yaml", "--script"])
            .arg(&script)
            .arg("--plugins")
            .arg(&plugins);
    });
    let said = succeeded(&passed);
    assert!(
        said.contains("turn 2: ok (transferred to `billing`"),
        "{said}"
    );
    assert!(said.ends_with("passed"), "{said}");

    let dir = TempDir::new("cli-flow-test");
    let wrong = dir.path().join("support--wrong.yaml");
    let expected = "A billing specialist will be with you shortly.";
    let source = std::fs::read_to_string(&script).unwrap();
    assert!(source.contains(expected), "{source}");
    std::fs::write(&wrong, source.replace(expected, "Someone will answer.")).unwrap();
    let failed = run_cli(|c| {
        c.args(["flow", "test", "flows/support.yaml", "--script"])
            .arg(&wrong)
            .arg("--plugins")
            .arg(&plugins);
    });
    let (stdout, stderr) = output_text(&failed);
    assert!(!failed.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("turn 1: ok"), "{stdout}");
    assert!(stdout.contains("turn 2: FAILED"), "{stdout}");
    assert!(
        stdout.contains("expected Exact(\"Thanks! Someone will answer.\")"),
        "the failure says which reply differed: {stdout}"
    );
    assert!(stdout.trim_end().ends_with("FAILED"), "{stdout}");
}

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
    eventually_eq("the watched change published", json!(2), version).await;

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
