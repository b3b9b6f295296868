//! Hot-swapping an adapter under load with no failed request; refusing broken, wrong-world and
//! over-asking components while the old version serves on; rollback; and `switchboard plugin
//! publish` doing the same from the command line.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;
use switchboard_tests::harness::{
    ADMIN_TOKEN, OM_INTEGRATION, TestEnv, WAIT, X_INTEGRATION, as_new_version, eventually,
    eventually_eq, metric, plugins_dir, succeeded, with_custom_section,
};

/// How many webhooks version `version` of the X adapter handled.
fn version_calls(metrics: &str, version: &str) -> f64 {
    metric(
        metrics,
        "switchboard_plugin_version_calls_total",
        &[
            ("plugin", "x"),
            ("version", version),
            ("function", "handle-webhook"),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_adapter_is_hot_swapped_under_load_without_a_failed_request() {
    let env = Arc::new(TestEnv::start("plugin-swap", |_| {}).await);
    let api = &env.api;
    let dm = |env: &TestEnv, customer: u64, text: &str| {
        env.dm(
            &format!("{}", 1_950_000_000_000_000_000u64 + customer),
            text,
        )
    };

    // Four customers-at-a-time load of signed webhooks.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for worker in 0..4u64 {
        let (env, stop, sent, failed) = (env.clone(), stop.clone(), sent.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let message = dm(&env, worker * 1_000_000 + n, "hello");
                let (status, body) = env.sim.send_x_dm(X_INTEGRATION, &message).await.unwrap();
                sent.fetch_add(1, Ordering::Relaxed);
                if status != 200 {
                    failed.fetch_add(1, Ordering::Relaxed);
                    eprintln!("failed during the swap: {status} {body}");
                }
            }
        }));
    }
    // 20 webhooks go out before the swap and 20 after it, however slow the machine.
    let load_passes = |mark: usize| {
        let sent = sent.clone();
        async move {
            eventually("20 more webhooks sent", WAIT, || async {
                let now = sent.load(Ordering::Relaxed);
                if now >= mark + 20 {
                    Ok(())
                } else {
                    Err(format!("{now} sent"))
                }
            })
            .await
        }
    };
    load_passes(0).await;

    let original = std::fs::read(plugins_dir().join("x.wasm")).unwrap();
    let swapped = api
        .put_raw(
            "/admin/v1/plugins/x",
            Some(ADMIN_TOKEN),
            "application/wasm",
            as_new_version(original.clone(), "v2"),
        )
        .await;
    assert_eq!(swapped.status, 201, "{}", swapped.text());
    assert_eq!(swapped.json()["version"], json!(2));
    assert_eq!(swapped.json()["wit"], json!("switchboard:channel@0.2.0"));

    load_passes(sent.load(Ordering::Relaxed)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let (sent, failed) = (sent.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    assert!(sent > 20, "the load ran: {sent} requests");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests failed across the swap"
    );

    // Once the swap is done, every webhook is handled by version 2.
    let before = api.metrics().await;
    let (v1, v2) = (version_calls(&before, "1"), version_calls(&before, "2"));
    assert!(
        v1 > 0.0 && v2 > 0.0,
        "both versions served: v1 {v1}, v2 {v2}"
    );
    for n in 0..20 {
        let (status, _) = env
            .sim
            .send_x_dm(X_INTEGRATION, &dm(&env, 9_000_000 + n, "after the swap"))
            .await
            .unwrap();
        assert_eq!(status, 200);
    }
    let after = api.metrics().await;
    assert_eq!(
        version_calls(&after, "1"),
        v1,
        "version 1 handled nothing after the swap"
    );
    assert_eq!(version_calls(&after, "2"), v2 + 20.0);

    // A broken component, and one of another world, are refused with the reason; version 2
    // keeps serving.
    let broken = api
        .put_raw(
            "/admin/v1/plugins/x",
            Some(ADMIN_TOKEN),
            "application/wasm",
            b"\0asm not really".to_vec(),
        )
        .await;
    assert_eq!(broken.status, 422, "{}", broken.text());
    assert_eq!(broken.json()["error"]["code"], json!("invalid_plugin"));
    let bot = std::fs::read(plugins_dir().join("faq-bot.wasm")).unwrap();
    let wrong_world = api
        .put_raw(
            "/admin/v1/plugins/x",
            Some(ADMIN_TOKEN),
            "application/wasm",
            bot,
        )
        .await;
    assert_eq!(wrong_world.status, 422, "{}", wrong_world.text());
    assert!(
        wrong_world.text().contains("flow plugin"),
        "{}",
        wrong_world.text()
    );
    // A component whose manifest asks for more than the configuration grants is refused with
    // what to change.
    let greedy = with_custom_section(
        original.clone(),
        "switchboard-manifest",
        b"memory_mib = 1024\nmax_output_bytes = 67108864\n",
    );
    let over_asking = api
        .put_raw(
            "/admin/v1/plugins/x",
            Some(ADMIN_TOKEN),
            "application/wasm",
            greedy,
        )
        .await;
    assert_eq!(over_asking.status, 422, "{}", over_asking.text());
    let reason = over_asking.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("asks for 1024 MiB of memory; 64 MiB is granted")
            && reason.contains("asks to return up to 67108864 bytes per call"),
        "{reason}"
    );
    let x = env.plugin("x").await;
    assert_eq!(x["version"], json!(2), "{x}");
    let (status, _) = env
        .sim
        .send_x_dm(X_INTEGRATION, &dm(&env, 9_100_000, "still served"))
        .await
        .unwrap();
    assert_eq!(status, 200);

    // Roll back to version 1: new webhooks go to it.
    let rollback = api
        .post_json(
            "/admin/v1/plugins/x/rollback",
            Some(ADMIN_TOKEN),
            &json!({"version": 1}),
        )
        .await;
    assert_eq!(rollback.status, 200, "{}", rollback.text());
    let before = version_calls(&api.metrics().await, "1");
    let (status, _) = env
        .sim
        .send_x_dm(X_INTEGRATION, &dm(&env, 9_200_000, "rolled back"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    eventually_eq("version 1 serves again", before + 1.0, || async {
        version_calls(&api.metrics().await, "1")
    })
    .await;

    // `switchboard plugin publish` does the same from the command line.
    let file = env.host.dir().join("x-v3.wasm");
    std::fs::write(&file, as_new_version(original, "v3")).unwrap();
    let output = env.host.cli_publish("plugin", &file, "x", ADMIN_TOKEN);
    assert_eq!(
        succeeded(&output),
        "x: version 3 (adapter, switchboard:channel@0.2.0)"
    );
}

/// A host starts with an integration whose adapter is not published yet: its webhooks answer
/// 503 (the platform redelivers) and the rest of the host serves; publishing the adapter makes
/// the integration live, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_integration_waits_for_an_adapter_published_after_start() {
    let env = TestEnv::start("adapter-later", |c| {
        c.om_adapter = "om-later".into();
    })
    .await;
    let message = env.open_message("later-customer", "Hello");
    let (status, body) = env
        .sim
        .send_open_message(OM_INTEGRATION, &message)
        .await
        .unwrap();
    assert_eq!(status, 503, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "adapter_missing", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PUT /admin/v1/plugins/om-later"),
        "{body}"
    );
    let waiting = env.integration(OM_INTEGRATION).await;
    assert_eq!(waiting["status"], "waiting_for_adapter", "{waiting:#}");
    // The other integrations serve meanwhile.
    env.send_dm_text("1700000000000000401", "hi").await;

    let published = env
        .api
        .put_raw(
            "/admin/v1/plugins/om-later",
            Some(ADMIN_TOKEN),
            "application/wasm",
            std::fs::read(plugins_dir().join("open-messaging.wasm")).unwrap(),
        )
        .await;
    assert_eq!(published.status, 201, "{}", published.text());
    // The platform's redelivery of the same message is taken, and the flow answers.
    let (status, body) = env
        .sim
        .send_open_message(OM_INTEGRATION, &message)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let texts = env.texts_to("later-customer", 1).await;
    assert!(texts[0].contains("Olive"), "{texts:?}");
    assert_eq!(env.integration(OM_INTEGRATION).await["status"], "active");
}
