//! `switchboard plugin inspect` and the plugins folder of `switchboard serve --watch`.

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, Setup, TempDir, TestEnv, X_INTEGRATION, as_new_version, eventually_eq,
    plugins_dir, run_cli, succeeded,
};

/// `plugin inspect` loads a flow plugin as the host would and says what it is; a file that is
/// not a component is refused with the reason.
#[test]
fn plugin_inspect_says_what_a_component_is() {
    let bot = plugins_dir().join("faq-bot.wasm");
    let said = succeeded(&run_cli(|c| {
        c.args(["plugin", "inspect"]).arg(&bot);
    }));
    for line in [
        "plugin:       faq-bot",
        "world:        switchboard:flow/bot-plugin@0.1.0",
        "exports:      switchboard:flow/bot@0.1.0",
        "loads:        yes",
    ] {
        assert!(said.contains(line), "no {line:?} in:\n{said}");
    }

    // An adapter: what its platform allows, in words, not Rust debug text.
    let x = succeeded(&run_cli(|c| {
        c.args(["plugin", "inspect"])
            .arg(plugins_dir().join("x.wasm"));
    }));
    for line in [
        "platform:     x",
        "text limit:   10000 characters",
        "capabilities: attachments, typing, receipts",
    ] {
        assert!(x.contains(line), "no {line:?} in:\n{x}");
    }
    assert!(!x.contains("Capabilities {") && !x.contains("Chars"), "{x}");

    let dir = TempDir::new("cli-inspect");
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, "not a component").unwrap();
    let refused = run_cli(|c| {
        c.args(["plugin", "inspect"]).arg(&bogus);
    });
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(stderr.contains("not a valid Wasm binary"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_watch_hot_loads_changed_plugin_files() {
    let original = std::fs::read(plugins_dir().join("x.wasm")).unwrap();
    let env = TestEnv::start_with("plugin-watch", Setup::watching(), |c| {
        let plugins = c.dir.join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        std::fs::write(plugins.join("x.wasm"), &original).unwrap();
        std::fs::copy(
            plugins_dir().join("open-messaging.wasm"),
            plugins.join("open-messaging.wasm"),
        )
        .unwrap();
        c.plugins_dir = Some(plugins);
        c.own_flows(&[]);
    })
    .await;
    let host = &env.host;
    let plugins = host.dir().join("plugins");
    let version = || async { env.plugin("x").await["version"].clone() };
    let dm = |n: u64| env.dm(&format!("{}", 1_960_000_000_000_000_000u64 + n), "hi");
    assert_eq!(version().await, json!(1));

    // A broken file is refused with the reason in the log; version 1 keeps serving.
    std::fs::write(plugins.join("x.wasm"), b"\0asm broken").unwrap();
    host.wait_for_log("the broken file refused", "x.wasm was refused")
        .await;
    assert_eq!(version().await, json!(1));
    assert_eq!(
        env.sim.send_x_dm(X_INTEGRATION, &dm(1)).await.unwrap().0,
        200
    );

    // A good new build is hot-loaded.
    std::fs::write(plugins.join("x.wasm"), as_new_version(original, "watched")).unwrap();
    eventually_eq("the changed file hot-loaded", json!(2), version).await;
    assert_eq!(
        env.sim.send_x_dm(X_INTEGRATION, &dm(2)).await.unwrap().0,
        200
    );

    // Every stored version is listed, and the CLI rolls back to one, hot.
    let listed = env.admin_get("/admin/v1/plugins/x").await;
    assert_eq!(listed["active"], 2, "{listed:#}");
    let versions: Vec<(i64, bool)> = listed["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["active"] == true))
        .collect();
    assert_eq!(versions, [(1, false), (2, true)], "{listed:#}");
    assert_eq!(listed["versions"][0]["world"], "adapter", "{listed:#}");
    let admin = |args: &[&str]| {
        run_cli(|c| {
            c.arg("plugin")
                .args(args)
                .args(["--host", &host.base_url(), "--token", ADMIN_TOKEN]);
        })
    };
    let said = succeeded(&admin(&["versions", "x"]));
    let lines: Vec<&str> = said.lines().collect();
    assert_eq!(lines.len(), 2, "{said}");
    assert!(
        lines[0].starts_with("x v1 ") && !lines[0].contains("active"),
        "{said}"
    );
    assert!(
        lines[1].starts_with("x v2  active  adapter  sha256 "),
        "{said}"
    );
    assert_eq!(
        succeeded(&admin(&["rollback", "x", "--version", "1"])),
        "x: version 1 runs (adapter)"
    );
    assert_eq!(version().await, json!(1));
    assert_eq!(env.admin_get("/admin/v1/plugins/x").await["active"], 1);
    let missing = admin(&["versions", "nope"]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("nope: 404 no plugin `nope` is stored"),
        "{missing:?}"
    );
}

/// `plugin check` runs the adapter suite on a component from any folder, with a platform's
/// fixtures and their check.toml; a fixture nobody classified and a wrong expectation fail it,
/// each named.
#[test]
fn plugin_check_runs_the_adapter_suite_from_any_folder() {
    let dir = TempDir::new("cli-check");
    let component = plugins_dir().join("open-messaging.wasm");
    let fixtures =
        switchboard_tests::harness::workspace_dir().join("plugins/open-messaging/fixtures");
    let passed = run_cli(|c| {
        c.current_dir(dir.path())
            .args(["plugin", "check"])
            .arg(&component)
            .arg("--fixtures")
            .arg(&fixtures);
    });
    let said = succeeded(&passed);
    assert!(said.ends_with("passed: 67 checks"), "{said}");
    assert!(
        said.contains(
            "ok   inbound-structured.json: decodes (answered 200 with 1 event(s); expected Events)"
        ),
        "{said}"
    );
    assert!(
        said.contains("ok   encodes quick replies as a request to the platform"),
        "{said}"
    );

    // The partner's own copy, with a stray fixture and a wrong expectation.
    let copy = dir.path().join("fixtures");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(copy.join("stray.json"), "{}").unwrap();
    let profile = std::fs::read_to_string(copy.join("check.toml")).unwrap();
    std::fs::write(
        copy.join("check.toml"),
        profile.replace(
            r#""outbound-echo.json" = "nothing""#,
            r#""outbound-echo.json" = "events""#,
        ),
    )
    .unwrap();
    let failed = run_cli(|c| {
        c.current_dir(dir.path())
            .args(["plugin", "check"])
            .arg(&component)
            .args(["--fixtures", "fixtures"]);
    });
    let said = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{said}");
    assert!(
        said.contains("FAIL stray.json: classified in check.toml"),
        "{said}"
    );
    assert!(
        said.contains(
            "FAIL outbound-echo.json: decodes (answered 200 with 0 event(s); expected Events)"
        ),
        "{said}"
    );
    assert!(
        said.trim_end().ends_with("FAILED: 2 of 68 checks"),
        "{said}"
    );
}

/// `plugin check` runs the flow-plugin suite on a bot or a data action from any folder: the
/// component's exports choose the suite, the profile's scripted turns and calls are answered,
/// and a wrong expectation fails with what the plugin said. The JavaScript bot and the Python
/// data action pass their Rust siblings' profiles.
#[test]
fn plugin_check_runs_the_flow_plugin_suite_from_any_folder() {
    let dir = TempDir::new("cli-check-flow");
    let plugins = switchboard_tests::harness::workspace_dir().join("plugins");
    for (component, profile, checks) in [
        ("faq-bot-js", "faq-bot", 17),
        ("http-lookup-py", "http-lookup", 15),
    ] {
        // The partner's own folder: the component and a copy of the profile beside it.
        let fixtures = dir.path().join(format!("{profile}-fixtures"));
        std::fs::create_dir_all(&fixtures).unwrap();
        std::fs::copy(
            plugins.join(profile).join("fixtures/check.toml"),
            fixtures.join("check.toml"),
        )
        .unwrap();
        let file = dir.path().join(format!("{component}.wasm"));
        std::fs::copy(plugins_dir().join(format!("{component}.wasm")), &file).unwrap();
        let said = succeeded(&run_cli(|c| {
            c.current_dir(dir.path())
                .args(["plugin", "check", &format!("{component}.wasm")])
                .args(["--fixtures", &format!("{profile}-fixtures")]);
        }));
        assert!(
            said.ends_with(&format!("passed: {checks} checks")),
            "{component}:\n{said}"
        );
        assert!(said.contains("within the host's limits"), "{said}");
    }
    assert!(
        std::fs::read_to_string(dir.path().join("faq-bot-fixtures/check.toml"))
            .unwrap()
            .contains("kind = \"bot\"")
    );

    // A wrong expectation fails, naming the turn and what the bot answered.
    let profile = dir.path().join("faq-bot-fixtures/check.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        text.replace(
            r#"exit = "handoff", intent = "agent""#,
            r#"exit = "done", intent = "agent""#,
        ),
    )
    .unwrap();
    let failed = run_cli(|c| {
        c.current_dir(dir.path())
            .args(["plugin", "check", "faq-bot-js.wasm"])
            .args(["--fixtures", "faq-bot-fixtures"]);
    });
    let said = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            r#"FAIL a human, turn 1 ("I want to talk to a human"): exit handoff (expected done)"#
        ),
        "{said}"
    );
    assert!(
        said.trim_end().ends_with("FAILED: 1 of 17 checks"),
        "{said}"
    );

    // A profile for the other kind of plugin fails rather than passing vacuously.
    let failed = run_cli(|c| {
        c.current_dir(dir.path())
            .args(["plugin", "check", "http-lookup-py.wasm"])
            .args(["--fixtures", "faq-bot-fixtures"]);
    });
    let said = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{said}");
    assert!(said.contains("the profile expects a bot"), "{said}");
}
