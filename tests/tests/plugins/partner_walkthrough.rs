//! The partner walkthrough of `docs/plugins.md`, step by step, as CI runs it: generate an
//! adapter with `cargo xtask new-plugin adapter` (as a standalone crate outside the workspace,
//! `--out`), run its unit tests, build it to a component, `switchboard plugin inspect` it,
//! hot-load it into a running host with `switchboard plugin publish`, connect an integration to
//! it with `PUT /admin/v1/integrations/{id}`, and send it a signed webhook: the host answers 200,
//! the flow runs and its replies reach the partner's `webhook_url`, signed.
//!
//! The generated crate is built in `<target>/partner-walkthrough`, so warm runs reuse the SDK's
//! and the dependencies' artifacts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use bytes::Bytes;
use serde_json::{Value, json};
use switchboard_tests::harness::{
    ADMIN_TOKEN, TempDir, TestEnv, WAIT, eventually, host_binary, workspace_dir,
};
use switchboard_tests::signing;

/// The plugin (and crate) the walkthrough creates.
const PLUGIN: &str = "acme-test";
/// The integration the walkthrough connects to it.
const INTEGRATION: &str = "acme-demo";
const SECRET: &str = "acme-walkthrough-secret";
const SIGNATURE_HEADER: &str = "x-signature-256";

/// `<target>`: the folder holding the profile folder this test runs from.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    exe.ancestors()
        .find(|dir| dir.file_name().is_some_and(|n| n == "deps"))
        .and_then(|deps| deps.parent()?.parent())
        .expect("the test executable lives in <target>/<profile>/deps")
        .to_path_buf()
}

fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.env("CARGO_TARGET_DIR", target_dir().join("partner-walkthrough"));
    command
}

/// Runs `command`, panicking with its output when it fails.
fn run(what: &str, command: &mut Command) -> Output {
    eprintln!("walkthrough: {what}");
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Generates, tests and builds the adapter; returns the component's path.
fn generate_and_build(out: &Path) -> PathBuf {
    let created = run(
        "cargo xtask new-plugin adapter acme-test --out DIR",
        cargo()
            .current_dir(workspace_dir())
            .args(["run", "-q", "-p", "xtask", "--", "new-plugin", "adapter"])
            .arg(PLUGIN)
            .arg("--out")
            .arg(out),
    );
    let text = stdout(&created);
    assert!(
        text.contains("created channel adapter (switchboard:channel/adapter) acme-test"),
        "{text}"
    );
    assert!(text.contains("next steps"), "{text}");
    let krate = out.join(PLUGIN);
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "fixtures/message.json",
        "fixtures/check.toml",
    ] {
        assert!(krate.join(file).is_file(), "{file} was not generated");
    }

    // The same command again is refused: the folder exists.
    let again = cargo()
        .current_dir(workspace_dir())
        .args(["run", "-q", "-p", "xtask", "--", "new-plugin", "adapter"])
        .arg(PLUGIN)
        .arg("--out")
        .arg(out)
        .output()
        .expect("running xtask again");
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let tested = run(
        "cargo test (the generated unit tests)",
        cargo().current_dir(&krate).args(["test", "-q"]),
    );
    let text = stdout(&tested);
    assert!(text.contains("7 passed"), "{text}");

    run(
        "cargo build --profile plugin --target wasm32-wasip2",
        cargo().current_dir(&krate).args([
            "build",
            "--profile",
            "plugin",
            "--target",
            "wasm32-wasip2",
        ]),
    );
    let wasm = target_dir()
        .join("partner-walkthrough")
        .join("wasm32-wasip2")
        .join("plugin")
        .join("acme_test.wasm");
    assert!(wasm.is_file(), "{} was not built", wasm.display());
    wasm
}

/// The partner's side: records every POST to `/acme` and answers `{"id": "acme-N"}`.
async fn start_partner() -> (String, Arc<Mutex<Vec<(HeaderMap, Bytes)>>>) {
    let received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>> = Arc::default();
    let record = received.clone();
    let app = Router::new().route(
        "/acme",
        post(move |headers: HeaderMap, body: Bytes| async move {
            let mut all = record.lock().unwrap();
            all.push((headers, body));
            axum::Json(json!({ "id": format!("acme-{}", all.len()) }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/acme", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_goes_from_nothing_to_a_hot_loaded_adapter() {
    let work = TempDir::new("partner-walkthrough");
    let wasm = generate_and_build(work.path());

    // `switchboard plugin inspect` loads it as the host would.
    let inspected = run(
        "switchboard plugin inspect",
        Command::new(host_binary())
            .args(["plugin", "inspect"])
            .arg(&wasm),
    );
    let text = stdout(&inspected);
    for line in [
        "plugin:       acme_test",
        "world:        switchboard:channel/adapter@0.2.0",
        "exports:      switchboard:channel/handler@0.2.0",
        "asks for:     memory_mib = 16",
        "loads:        yes; describe() answered",
        "platform:     acme-test",
        "text limit:   4096 characters",
        "capabilities: attachments, quick replies",
        "reply window: none",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }

    // `switchboard plugin check` runs the adapter suite on it, from the partner's own folder,
    // with the fixtures and check.toml the template generated.
    let krate = work.path().join(PLUGIN);
    let checked = run(
        "switchboard plugin check",
        Command::new(host_binary())
            .current_dir(&krate)
            .args(["plugin", "check"])
            .arg(&wasm)
            .args(["--fixtures", "fixtures"]),
    );
    let text = stdout(&checked);
    for line in [
        "ok   message.json: decodes (answered 200 with 1 event(s); expected Events)",
        "ok   message.json: refused as unauthorized with a tampered body",
        "ok   encodes attachment as a request to the platform",
        "ok   answer 429 reads as rate_limited (expected rate_limited)",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
    assert!(
        text.trim_end().ends_with(" checks") && text.contains("passed: "),
        "{text}"
    );

    // A host with its usual integrations (X and open messaging).
    let env = TestEnv::start("partner-host", |_| {}).await;
    let (host, api) = (&env.host, &env.api);
    let (partner_url, received) = start_partner().await;

    // Hot-load the component: the host checks, compiles and stores it as version 1.
    let published = run(
        "switchboard plugin publish",
        Command::new(host_binary())
            .args(["plugin", "publish"])
            .arg(&wasm)
            .args([
                "--name",
                PLUGIN,
                "--host",
                &host.base_url(),
                "--token",
                ADMIN_TOKEN,
            ]),
    );
    assert_eq!(
        stdout(&published).trim(),
        "acme-test: version 1 (adapter, switchboard:channel@0.2.0)"
    );

    // What the host refuses, the old version serving on: a file that is not a component...
    let refused = api
        .put_raw(
            "/admin/v1/plugins/acme-test",
            Some(ADMIN_TOKEN),
            "application/wasm",
            b"not a component".to_vec(),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "invalid_plugin");
    // ...and a request without the admin token.
    let anonymous = api
        .put_raw(
            "/admin/v1/plugins/acme-test",
            None,
            "application/wasm",
            std::fs::read(&wasm).unwrap(),
        )
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());

    // Connect an integration to it, without a restart.
    let put = api
        .put_json(
            &format!("/admin/v1/integrations/{INTEGRATION}"),
            Some(ADMIN_TOKEN),
            &json!({
                "adapter": PLUGIN,
                "flow": "support",
                "settings": { "secret": SECRET, "webhook_url": partner_url },
            }),
        )
        .await;
    assert_eq!(put.status, 201, "{}", put.text());
    assert_eq!(put.json()["platform"], "acme-test");
    assert_eq!(put.json()["webhook_path"], "/webhooks/acme-demo");

    let listed = env.plugin(PLUGIN).await;
    assert_eq!(listed["version"], 1);
    assert_eq!(listed["world"], "adapter");

    // A signed webhook, as the docs' curl sends it.
    let body = br#"{"id":"acme-msg-1","from":"cust-77","name":"Dana","text":"Hello from Acme"}"#;
    let signature = signing::hub_signature_base64(SECRET, body);
    let webhook = format!("/webhooks/{INTEGRATION}");
    let unsigned = api
        .post_raw(
            &webhook,
            &[("content-type", "application/json")],
            body.to_vec(),
        )
        .await;
    assert_eq!(unsigned.status, 401, "{}", unsigned.text());
    let answered = api
        .post_raw(
            &webhook,
            &[
                ("content-type", "application/json"),
                (SIGNATURE_HEADER, &signature),
            ],
            body.to_vec(),
        )
        .await;
    assert_eq!(answered.status, 200, "{}", answered.text());
    assert_eq!(answered.json(), json!({ "status": "accepted" }));

    // The flow greets the customer through the adapter: signed JSON at the webhook_url.
    let deliveries = eventually("the flow's replies at the partner", WAIT, || async {
        let all = received.lock().unwrap().clone();
        if all.len() >= 2 {
            Ok(all)
        } else {
            Err(format!("{} delivered", all.len()))
        }
    })
    .await;
    let mut texts = Vec::new();
    for (headers, body) in &deliveries {
        let presented = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert!(
            signing::verify_hub_signature_base64(SECRET, body, presented),
            "a delivery is not signed with the secret: {presented:?}"
        );
        let value: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(value["to"], "cust-77", "{value}");
        assert_eq!(value["author"], "bot", "{value}");
        texts.push(value["text"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(texts[0], "Hi Dana, thanks for writing to us.", "{texts:?}");
    assert!(
        texts[1].starts_with("What can we help you with?"),
        "{texts:?}"
    );
}
