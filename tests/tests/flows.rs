//! Flows in a running host: versions and rollback with conversations in flight, validation of a
//! broken publish, and flow plugins that misbehave (a bot past its deadline, a data action
//! calling a host it was not granted).

use std::io::ErrorKind;

use serde_json::{Value, json};
use switchboard_tests::fixtures::{UniqueIds, XDm, unix_millis};
use switchboard_tests::harness::{
    ADMIN_TOKEN, Api, HostProcess, TempDir, TestConfig, WAIT, X_ACCOUNT_ID, X_INTEGRATION,
    eventually, metric, sim_config, workspace_dir,
};
use switchboard_tests::sim::{Delivered, PlatformSim};

struct Env {
    sim: PlatformSim,
    _host: HostProcess,
    api: Api,
    ids: UniqueIds,
}

/// A host whose flows folder is a copy of the repository's plus `extra` files.
async fn start(
    label: &str,
    extra: &[(&str, String)],
    customize: impl FnOnce(&mut TestConfig),
) -> Env {
    let sim = PlatformSim::start(sim_config())
        .await
        .expect("starting the simulator");
    let dir = TempDir::new(label);
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::copy(
        workspace_dir().join("flows/support.yaml"),
        flows.join("support.yaml"),
    )
    .unwrap();
    for (name, text) in extra {
        std::fs::write(flows.join(name), text).unwrap();
    }
    let mut config = TestConfig::new(&dir, &sim.base_url());
    config.flows_dir = Some(flows);
    customize(&mut config);
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();
    Env {
        sim,
        _host: host,
        api,
        ids: UniqueIds::new(),
    }
}

impl Env {
    async fn dm(&self, sender: &str, text: &str) {
        let dm = XDm {
            event_id: self.ids.next_id(),
            sender_id: sender.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            name: "Dana".into(),
            text: text.into(),
            created_ms: unix_millis(std::time::SystemTime::now()),
            ..XDm::default()
        };
        let (status, body) = self.sim.send_x_dm(X_INTEGRATION, &dm).await.unwrap();
        assert_eq!(status, 200, "{body}");
    }

    async fn texts_to(&self, recipient: &str, n: usize) -> Vec<String> {
        eventually(&format!("{n} message(s) to {recipient}"), WAIT, || async {
            let got: Vec<Delivered> = self
                .sim
                .delivered()
                .into_iter()
                .filter(|d| d.recipient_id == recipient)
                .collect();
            if got.len() >= n {
                Ok(got
                    .into_iter()
                    .map(|d| d.text.unwrap_or_default())
                    .collect::<Vec<_>>())
            } else {
                Err(format!(
                    "{:?}",
                    got.iter().map(|d| d.text.clone()).collect::<Vec<_>>()
                ))
            }
        })
        .await
    }

    async fn put_flow(&self, name: &str, source: &str) -> (u16, Value) {
        let response = self
            .api
            .put_raw(
                &format!("/admin/v1/flows/{name}"),
                Some(ADMIN_TOKEN),
                "application/yaml",
                source.as_bytes().to_vec(),
            )
            .await;
        (response.status.as_u16(), response.json())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn versions_rollback_and_a_broken_publish() {
    let env = start("flow-versions", &[], |_| {}).await;
    let v1 = std::fs::read_to_string(workspace_dir().join("flows/support.yaml")).unwrap();

    // A conversation starts on v1 and waits in `ask`.
    env.dm("1700000000000000101", "hi").await;
    let first = env.texts_to("1700000000000000101", 2).await;
    assert_eq!(first[0], "Hi Dana, thanks for writing to us.");

    // v2 changes the greeting and the billing handover.
    let v2 = v1
        .replace("thanks for writing to us.", "welcome to version two.")
        .replace(
            "A billing specialist will be with you shortly.",
            "Billing (v2) will answer.",
        );
    let (status, body) = env.put_flow("support", &v2).await;
    assert_eq!((status, &body["version"]), (201, &json!(2)), "{body}");

    // The conversation in flight finishes on v1; a new one starts on v2.
    env.dm("1700000000000000101", "1").await;
    let after = env.texts_to("1700000000000000101", 3).await;
    assert_eq!(
        after[2], "Thanks! A billing specialist will be with you shortly.",
        "stayed on v1"
    );
    env.dm("1700000000000000102", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000102", 1).await[0],
        "Hi Dana, welcome to version two."
    );

    // A rollback gives new conversations v1 again.
    let rollback = env
        .api
        .post_json(
            "/admin/v1/flows/support/rollback",
            Some(ADMIN_TOKEN),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(rollback.status, 200, "{}", rollback.text());
    env.dm("1700000000000000103", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000103", 1).await[0],
        "Hi Dana, thanks for writing to us."
    );
    let listed = env
        .api
        .get("/admin/v1/flows/support", Some(ADMIN_TOKEN))
        .await
        .json();
    assert_eq!(listed["version"], json!(1));
    assert_eq!(listed["versions"].as_array().unwrap().len(), 2);

    // A file with six different errors is refused with six located messages; v1 keeps serving.
    let broken = r#"start: greet
steps:
  greet:
    type: send
    text: "Hi {{customer.name"
    next: ask
  ask:
    type: ask
    text: Which?
    variable: topic
    expect: colour
    next: route
  route:
    type: decision
    condition: 'topic ==='
    then: nowhere
    else: bye
  bye:
    type: disconnect
    txt: Bye
  lost:
    type: transfer
    queue: no-such-queue
"#;
    let (status, body) = env.put_flow("support", broken).await;
    assert_eq!(status, 422, "{body}");
    let errors = body["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(errors.len(), 6, "{body}");
    assert_eq!(lines, vec![5, 11, 15, 16, 20, 23], "{body}");
    assert!(
        errors.iter().all(|e| e["column"].as_u64().is_some()),
        "{body}"
    );
    env.dm("1700000000000000104", "hi").await;
    assert_eq!(
        env.texts_to("1700000000000000104", 1).await[0],
        "Hi Dana, thanks for writing to us."
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn misbehaving_flow_plugins_take_the_flows_error_paths() {
    // A loopback port that nothing may reach: the data action is not granted it.
    let forbidden = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    forbidden.set_nonblocking(true).unwrap();
    let port = forbidden.local_addr().unwrap().port();
    let flow = format!(
        r#"start: lookup
on_error: oops
steps:
  lookup:
    type: data-action
    plugin: http-lookup
    action: order-status
    input:
      order_id: '"88-431"'
      base_url: '"http://127.0.0.1:{port}"'
    next: found
    failure: lookup_failed
  found:
    type: send
    text: "Status: {{{{order_status.status}}}}"
    next: chat
  lookup_failed:
    type: send
    text: "Lookup failed: {{{{order_status.error}}}}"
    next: chat
  chat:
    type: bot
    plugin: fixtures/spin-bot
    next: done
    error: bot_failed
  bot_failed:
    type: disconnect
    text: The assistant is unavailable right now.
  done:
    type: disconnect
  oops:
    type: disconnect
    text: "Oops: {{{{error.message}}}}"
"#
    );
    let env = start("flow-plugins", &[("plugin-checks.yaml", flow)], |c| {
        c.x_flow = "plugin-checks".into()
    })
    .await;
    env.dm("1700000000000000201", "where is my order?").await;
    let texts = env.texts_to("1700000000000000201", 2).await;
    assert!(
        texts[0].starts_with("Lookup failed: ") && texts[0].contains("denied"),
        "{texts:?}"
    );
    assert!(texts[0].contains(&format!("127.0.0.1:{port}")), "{texts:?}");
    assert_eq!(texts[1], "The assistant is unavailable right now.");
    assert!(
        matches!(forbidden.accept(), Err(e) if e.kind() == ErrorKind::WouldBlock),
        "nothing connected to the ungranted host"
    );
    let metrics = env.api.metrics().await;
    assert_eq!(
        metric(
            &metrics,
            "switchboard_plugin_errors_total",
            &[
                ("plugin", "fixtures/spin-bot"),
                ("function", "turn"),
                ("kind", "timeout")
            ]
        ),
        1.0,
        "{metrics}"
    );
    let plugins = env
        .api
        .get("/admin/v1/plugins", Some(ADMIN_TOKEN))
        .await
        .json();
    let worlds: Vec<(String, String)> = plugins["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["world"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        worlds.contains(&("http-lookup".into(), "data-action".into())),
        "{worlds:?}"
    );
    assert!(
        worlds.contains(&("fixtures/spin-bot".into(), "bot".into())),
        "{worlds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unanswered_question_times_out_into_its_own_path() {
    let flow = r#"start: ask
steps:
  ask:
    type: ask
    text: What is your order number?
    variable: order
    expect: regex
    pattern: '\d{2}-\d{3}'
    timeout_minutes: 0.01
    no_input: gone
    next: thanks
  thanks:
    type: disconnect
    text: Thanks!
  gone:
    type: disconnect
    text: We did not hear from you; write again any time.
"#;
    let env = start(
        "flow-timeout",
        &[("quick-timeout.yaml", flow.to_string())],
        |c| c.x_flow = "quick-timeout".into(),
    )
    .await;
    env.dm("1700000000000000301", "hello").await;
    let texts = env.texts_to("1700000000000000301", 2).await;
    assert_eq!(
        texts,
        vec![
            "What is your order number?".to_string(),
            "We did not hear from you; write again any time.".to_string()
        ]
    );
}
