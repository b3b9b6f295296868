//! Flow plugins from other languages in a running host: the FAQ bot in JavaScript
//! (plugins/faq-bot-js) and the order-status data action in Python (plugins/http-lookup-py)
//! answer a customer together, the data action reaching its granted backend through the host;
//! then the other way round (plugins/faq-bot-py, plugins/http-lookup-js).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;
use switchboard_tests::harness::TestEnv;

use crate::dm;

/// An order backend on loopback: `/orders/12-345` is shipped, any other order is unknown.
async fn order_backend() -> SocketAddr {
    async fn order(Path(id): Path<String>) -> axum::response::Response {
        match id.as_str() {
            "12-345" => Json(json!({"status": "shipped", "eta": "2026-09-03", "carrier": "DHL"}))
                .into_response(),
            _ => StatusCode::NOT_FOUND.into_response(),
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/orders/{id}", axum::routing::get(order));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_javascript_bot_and_a_python_data_action_answer_a_customer() {
    answer_a_customer("faq-bot-js", "http-lookup-py").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_python_bot_and_a_javascript_data_action_answer_a_customer() {
    answer_a_customer("faq-bot-py", "http-lookup-js").await;
}

/// A customer asks where their order is: `bot` asks for the number, then `action` looks it up
/// on the granted backend, and the flow says what it found.
async fn answer_a_customer(bot: &str, action: &str) {
    let backend = order_backend().await;
    let flow = format!(
        r#"start: assistant
on_error: oops
steps:
  assistant:
    type: bot
    plugin: {bot}
    result: faq
    next: which
    handoff: human
    error: oops
  which:
    type: decision
    condition: 'faq.intent == "order_status"'
    then: lookup
    else: bye
  lookup:
    type: data-action
    plugin: {action}
    action: order-status
    input:
      order_id: 'faq.slots.order_number'
      base_url: '"http://{backend}"'
    next: status
    failure: lookup_failed
  status:
    type: send
    text: "Order {{{{faq.slots.order_number}}}} is {{{{order_status.status}}}} with {{{{order_status.carrier}}}}, due {{{{order_status.eta}}}}."
    next: bye
  lookup_failed:
    type: send
    text: "Lookup failed: {{{{order_status.error}}}}"
    next: bye
  human:
    type: disconnect
    text: An agent will take over.
  bye:
    type: disconnect
    text: Anything else, just write.
  oops:
    type: disconnect
    text: "Oops: {{{{error.message}}}}"
"#
    );
    let env = TestEnv::start("flow-polyglot", |c| {
        c.own_flows(&[("polyglot.yaml", &flow)]);
        c.x_flow = "polyglot".into();
        c.extra_toml.push_str(&format!(
            "\n[[plugin]]\nname = \"{action}\"\nhttp_hosts = [\"{backend}\"]\n"
        ));
    })
    .await;
    for (name, world) in [(bot, "bot"), (action, "data-action")] {
        let listed = env.plugin(name).await;
        assert_eq!(listed["world"], world, "{listed}");
    }

    let customer = "1700000000000000301";
    dm(&env, customer, "where is my order?").await;
    let texts = env.texts_to(customer, 1).await;
    assert!(
        texts[0].starts_with("What is your order number?"),
        "{texts:?}"
    );

    dm(&env, customer, "it is 12-345").await;
    let texts = env.texts_to(customer, 4).await;
    assert_eq!(
        texts[1..4],
        [
            "Thanks! I have noted order 12-345; let me look up its status for you.".to_string(),
            "Order 12-345 is shipped with DHL, due 2026-09-03.".to_string(),
            "Anything else, just write.".to_string(),
        ],
        "{texts:?}"
    );
}
