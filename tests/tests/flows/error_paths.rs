//! A flow's own paths for what goes wrong: flow plugins that misbehave (a bot past its deadline,
//! a data action calling a host it was not granted) and a question nobody answers.

use std::io::ErrorKind;

use switchboard_tests::harness::{TestEnv, metric};

use crate::dm;

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
    let env = TestEnv::start("flow-plugins", |c| {
        c.own_flows(&[("plugin-checks.yaml", &flow)]);
        c.x_flow = "plugin-checks".into();
        // The spinning bot is interrupted quickly; everything else has the harness's long
        // default, so a loaded machine interrupts nothing else.
        c.plugin_deadline("fixtures/spin-bot", 500);
    })
    .await;
    dm(&env, "1700000000000000201", "where is my order?").await;
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
    for (name, world) in [("http-lookup", "data-action"), ("fixtures/spin-bot", "bot")] {
        let listed = env.plugin(name).await;
        assert_eq!(listed["world"], world, "{listed}");
    }
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
    let env = TestEnv::start("flow-timeout", |c| {
        c.own_flows(&[("quick-timeout.yaml", flow)]);
        c.x_flow = "quick-timeout".into();
    })
    .await;
    dm(&env, "1700000000000000301", "hello").await;
    let texts = env.texts_to("1700000000000000301", 2).await;
    assert_eq!(
        texts,
        vec![
            "What is your order number?".to_string(),
            "We did not hear from you; write again any time.".to_string()
        ]
    );
}
