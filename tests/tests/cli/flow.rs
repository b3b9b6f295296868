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

/// `flow validate` says a good file is ok, and prints every error of a broken one as the
/// `FILE:LINE:COL: message` lines editors and CI read; with `--config` it also knows which queues
/// exist.
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
        (false, &[(5, 5), (11, 13), (15, 5), (16, 5), (20, 5)][..]),
        (
            true,
            &[(5, 5), (11, 13), (15, 5), (16, 5), (20, 5), (23, 5)][..],
        ),
    ] {
        let output = run_cli(|c| {
            c.args(["flow", "validate"]).arg(&broken);
            if with_config {
                c.arg("--config").arg(&config);
            }
        });
        let (stdout, stderr) = output_text(&output);
        assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
        let prefix = format!("{}:", broken.display());
        let located: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with(&prefix) && !l.ends_with(" error(s)"))
            .collect();
        assert_eq!(located.len(), lines.len(), "{stdout}");
        for ((line, column), reported) in lines.iter().zip(&located) {
            assert!(
                reported.starts_with(&format!("{prefix}{line}:{column}: step `")),
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
    // The structural mistakes (`txt:`, `expect: colour`) do not hide the broken `then:`, and no
    // serde wording leaks through.
    let output = run_cli(|c| {
        c.args(["flow", "validate"]).arg(&broken);
    });
    let (stdout, _) = output_text(&output);
    assert!(
        stdout.contains(
            ":20:5: step `bye`: a `disconnect` step has no field `txt`; did you mean `text`?"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(":16:5: step `route`: `then` names step `nowhere`, which does not exist"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("unknown variant") && !stdout.contains("unknown field"),
        "{stdout}"
    );
}

/// `flow validate` takes many files in one run, says which cannot be read (exit 2, over 1 for an
/// invalid flow), and gives the same findings as JSON with `--format json`.
#[test]
fn flow_validate_checks_many_files_and_speaks_json() {
    let broken = invalid_flow();
    let missing = workspace_dir().join("flows/no-such-flow.yaml");
    let both = run_cli(|c| {
        c.args([
            "flow",
            "validate",
            "flows/support.yaml",
            "flows/social-support.yaml",
        ]);
    });
    let said = succeeded(&both);
    assert_eq!(said.lines().count(), 2, "{said}");
    assert!(said.contains("flows/social-support.yaml: ok ("), "{said}");

    let invalid = run_cli(|c| {
        c.args(["flow", "validate", "flows/support.yaml"])
            .arg(&broken);
    });
    let (stdout, _) = output_text(&invalid);
    assert_eq!(invalid.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with("flows/support.yaml: ok ("), "{stdout}");

    let unreadable = run_cli(|c| {
        c.args(["flow", "validate"]).arg(&broken).arg(&missing);
    });
    let (stdout, _) = output_text(&unreadable);
    assert_eq!(unreadable.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(&format!("{}: cannot check: cannot read", missing.display())),
        "{stdout}"
    );

    let json_run = run_cli(|c| {
        c.args(["flow", "validate", "--format", "json", "flows/support.yaml"])
            .arg(&broken)
            .arg(&missing);
    });
    assert_eq!(json_run.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&json_run.stdout).unwrap();
    assert_eq!(report["errors"], 5, "{report:#}");
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["file"], "flows/support.yaml");
    assert_eq!(files[0]["status"], "ok");
    assert!(files[0]["steps"].as_u64().unwrap() > 3);
    assert_eq!(files[1]["status"], "invalid");
    assert_eq!(
        files[1]["errors"][3],
        json!({"line": 16, "column": 5, "message": "step `route`: `then` names step `nowhere`, which does not exist"})
    );
    assert_eq!(files[2]["status"], "unreadable");
    assert!(
        files[2]["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot read "),
        "{report:#}"
    );
}

/// `flow validate` type-checks CEL expressions against the variables each path can have: an
/// unknown variable (with a suggestion), a variable one path leaves unset, text compared with a
/// number, and a possibly-null field used as a number, each at its line.
#[test]
fn flow_validate_type_checks_expressions() {
    let dir = TempDir::new("cli-typecheck");
    let flow = dir.path().join("typed.yaml");
    std::fs::write(
        &flow,
        r#"start: ask
steps:
  ask:
    type: ask
    text: How old are you?
    variable: age
    expect: number
    next: check
    no_match: check
  check:
    type: decision
    condition: 'agee > 18'
    then: big
    else: compare
  compare:
    type: decision
    condition: 'message.text > 3'
    then: big
    else: famous
  famous:
    type: decision
    condition: 'customer.followers > 10000'
    then: big
    else: late
  late:
    type: decision
    condition: 'age > 18'
    then: big
    else: big
  big:
    type: disconnect
"#,
    )
    .unwrap();
    let output = run_cli(|c| {
        c.args(["flow", "validate"]).arg(&flow);
    });
    let (stdout, _) = output_text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    let at = |line: usize| {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{}:{line}:", flow.display())))
            .unwrap_or_else(|| panic!("nothing at line {line}:\n{stdout}"))
    };
    assert!(
        at(12).contains("agee") && at(12).contains("age"),
        "{stdout}"
    );
    assert!(
        at(17).contains("text") && at(17).contains("number"),
        "{stdout}"
    );
    assert!(
        at(22).contains("customer.followers") && at(22).contains("null"),
        "{stdout}"
    );
    assert!(at(27).contains("`age`"), "{stdout}");
}

/// `flow schema` prints the JSON Schema editors check flow files against; every example flow
/// passes it, and the broken test flow does not.
#[test]
fn flow_schema_describes_every_example_flow() {
    let schema: serde_json::Value = serde_json::from_str(&succeeded(&run_cli(|c| {
        c.args(["flow", "schema"]);
    })))
    .unwrap();
    assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(schema["properties"]["steps"].is_object(), "{schema:#}");
    let validator = jsonschema::draft7::new(&schema).expect("a valid draft-07 schema");
    let mut checked = 0;
    for entry in std::fs::read_dir(workspace_dir().join("flows")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let flow: serde_json::Value =
            serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&flow)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} example flows");
    let broken: serde_json::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(invalid_flow()).unwrap()).unwrap();
    assert!(!validator.is_valid(&broken));
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
        stderr.contains(":16:5: step `route`: `then` names step `nowhere`"),
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
        stdout.contains(
            "reply 1: expected \"Thanks! Someone will answer.\", got \"Thanks! A billing specialist"
        ),
        "the failure says which reply differed: {stdout}"
    );
    assert!(stdout.trim_end().ends_with("FAILED"), "{stdout}");
    assert!(!stdout.contains("Exact("), "no Rust debug text: {stdout}");

    let json_run = run_cli(|c| {
        c.args([
            "flow",
            "test",
            "flows/support.yaml",
            "--format",
            "json",
            "--script",
        ])
        .arg(&script)
        .arg("--script")
        .arg(&wrong)
        .arg("--plugins")
        .arg(&plugins);
    });
    assert!(!json_run.status.success());
    let report: serde_json::Value = serde_json::from_slice(&json_run.stdout).unwrap();
    assert_eq!(report["passed"], false, "{report:#}");
    assert_eq!(report["reports"][0]["passed"], true, "{report:#}");
    let turn = &report["reports"][1]["turns"][1];
    assert_eq!(turn["passed"], false, "{report:#}");
    assert_eq!(turn["outcome"], "transferred", "{report:#}");
    assert!(
        turn["problems"][0]
            .as_str()
            .unwrap()
            .contains("expected \"Thanks! Someone will answer.\""),
        "{report:#}"
    );
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

/// A command piped into a reader that has gone (`switchboard flow validate ... | head -1`) ends
/// quietly, as Unix tools do: no panic and no backtrace on standard error.
#[test]
fn output_piped_into_a_reader_that_has_gone_ends_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(switchboard_tests::harness::host_binary())
        .current_dir(workspace_dir())
        .args(["flow", "validate", "--format", "json"])
        .arg(invalid_flow())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run switchboard");
    // The reader goes before the command has written anything.
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("wait for switchboard");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked") && stderr.trim().is_empty(),
        "standard error should be empty, got:\n{stderr}"
    );
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(13),
        "ended by SIGPIPE: {}",
        output.status
    );
}
