//! `switchboard serve --log-format json`: every line of the log is one JSON object, and every
//! HTTP request is logged once with its method, route, status, duration and integration, never
//! with what its query string carried; `/metrics` times the same webhook in a histogram.

use serde_json::Value;
use switchboard_tests::harness::{Setup, TestEnv, X_INTEGRATION, metric};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_log_has_a_line_per_request_without_its_query() {
    let setup = Setup {
        serve_args: vec!["--log-format".into(), "json".into()],
        ..Setup::default()
    };
    let env = TestEnv::start_with("json-log", setup, |_| {}).await;
    env.send_dm_text("1700000000000000077", "hello").await;
    let health = env.api.get("/healthz?token=do-not-log-me", None).await;
    assert_eq!(health.status, 200);
    env.host
        .wait_for_log("the /healthz request logged", "\"route\":\"/healthz\"")
        .await;

    let text = std::fs::read_to_string(env.host.log_path()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.starts_with("===="))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!text.contains("do-not-log-me"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a file: {text}"
    );
    let requests: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request").collect();
    let webhook = requests
        .iter()
        .find(|l| l["method"] == "POST" && l["route"] == "/webhooks/{integration}")
        .unwrap_or_else(|| panic!("no webhook request line in {requests:?}"));
    assert_eq!(webhook["status"], 200);
    assert_eq!(webhook["integration"], X_INTEGRATION);
    assert!(webhook["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(webhook["level"], "INFO");
    let health = requests
        .iter()
        .find(|l| l["route"] == "/healthz")
        .expect("the /healthz line");
    assert_eq!(
        (health["method"].as_str(), health["status"].as_u64()),
        (Some("GET"), Some(200))
    );

    let metrics = env.metrics().await;
    let labels = [("integration", X_INTEGRATION)];
    let count = metric(
        &metrics,
        "switchboard_webhook_duration_seconds_count",
        &labels,
    );
    let under_10s = metric(
        &metrics,
        "switchboard_webhook_duration_seconds_bucket",
        &[("integration", X_INTEGRATION), ("le", "10.0")],
    );
    assert_eq!((count, under_10s), (1.0, 1.0), "{metrics}");
    assert!(
        metrics.contains("switchboard_build_info{version=\""),
        "{metrics}"
    );
}
