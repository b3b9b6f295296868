//! Plugins as a product: hot-swapping an adapter under load with no failed request, refusing
//! broken, wrong-world or over-asking components while the old one serves on, versions and
//! rollback, and adapters of two contract versions side by side.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde_json::json;
use switchboard_tests::fixtures::{OpenMessage, UniqueIds, XDm, rfc3339_utc, unix_millis};
use switchboard_tests::harness::{
    ADMIN_TOKEN, ALICE, ALICE_TOKEN, HostProcess, OM_INTEGRATION, TempDir, TestConfig, WAIT,
    X_ACCOUNT_ID, X_INTEGRATION, eventually, metric, plugins_dir, sim_config,
};
use switchboard_tests::sim::PlatformSim;

/// `component` with one more custom section: Wasm ignores it, so the component behaves the
/// same, but its bytes (and hash) differ.
fn with_custom_section(mut component: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    component.push(0); // custom section
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        component.push(if size == 0 { byte } else { byte | 0x80 });
        if size == 0 {
            break;
        }
    }
    component.extend_from_slice(&payload);
    component
}

/// The same component as a new version (and hash) that behaves the same.
fn as_new_version(component: Vec<u8>, tag: &str) -> Vec<u8> {
    with_custom_section(component, "switchboard-test-version", tag.as_bytes())
}

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
    let sim = Arc::new(PlatformSim::start(sim_config()).await.unwrap());
    let dir = TempDir::new("plugin-swap");
    let config = TestConfig::new(&dir, &sim.base_url());
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();
    let ids = Arc::new(UniqueIds::new());
    let dm = |ids: &UniqueIds, customer: u64, text: &str| XDm {
        event_id: ids.next_id(),
        sender_id: format!("{}", 1_950_000_000_000_000_000u64 + customer),
        for_user_id: X_ACCOUNT_ID.into(),
        text: text.into(),
        created_ms: unix_millis(std::time::SystemTime::now()),
        ..XDm::default()
    };

    // Four customers-at-a-time load of signed webhooks.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for worker in 0..4u64 {
        let (sim, ids, stop, sent, failed) = (
            sim.clone(),
            ids.clone(),
            stop.clone(),
            sent.clone(),
            failed.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let message = dm(&ids, worker * 1_000_000 + n, "hello");
                let (status, body) = sim.send_x_dm(X_INTEGRATION, &message).await.unwrap();
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
        let (status, _) = sim
            .send_x_dm(X_INTEGRATION, &dm(&ids, 9_000_000 + n, "after the swap"))
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
    let listed = api.get("/admin/v1/plugins", Some(ADMIN_TOKEN)).await.json();
    let x = listed["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == json!("x"))
        .cloned()
        .unwrap();
    assert_eq!(x["version"], json!(2), "{listed}");
    let (status, _) = sim
        .send_x_dm(X_INTEGRATION, &dm(&ids, 9_100_000, "still served"))
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
    let (status, _) = sim
        .send_x_dm(X_INTEGRATION, &dm(&ids, 9_200_000, "rolled back"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    eventually("version 1 serves again", WAIT, || async {
        let now = version_calls(&api.metrics().await, "1");
        if now == before + 1.0 {
            Ok(())
        } else {
            Err(format!("{now}"))
        }
    })
    .await;

    // `switchboard plugin publish` does the same from the command line.
    let file = host.dir().join("x-v3.wasm");
    std::fs::write(&file, as_new_version(original, "v3")).unwrap();
    let output = host.cli_publish("plugin", &file, "x", ADMIN_TOKEN);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "x: version 3 (adapter, switchboard:channel@0.2.0)"
    );
}

/// `switchboard:channel@0.1.0` and `@0.2.0` adapters in one host: the JavaScript open-messaging
/// adapter is built against the frozen 0.1.0 contract (`wit/channel-0.1.0`), X against the
/// latest. Both carry conversations; the function 0.2.0 added (a typing indicator) is simply
/// absent for the 0.1.0 adapter, with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapters_of_two_contract_versions_run_side_by_side() {
    let sim = PlatformSim::start(sim_config()).await.unwrap();
    let dir = TempDir::new("side-by-side");
    let mut config = TestConfig::new(&dir, &sim.base_url());
    config.om_adapter = "open-messaging-js".into();
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();

    let listed = api.get("/admin/v1/plugins", Some(ADMIN_TOKEN)).await.json();
    let wit = |name: &str| {
        listed["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == json!(name))
            .map(|p| p["wit"].clone())
            .unwrap_or_else(|| panic!("{name} is not listed: {listed}"))
    };
    assert_eq!(wit("x"), json!("switchboard:channel@0.2.0"));
    assert_eq!(wit("open-messaging-js"), json!("switchboard:channel@0.1.0"));

    // One customer on each: the flow greets and asks through either adapter.
    let ids = UniqueIds::new();
    let x_customer = "1950000000000000777";
    let dm = XDm {
        event_id: ids.next_id(),
        sender_id: x_customer.into(),
        for_user_id: X_ACCOUNT_ID.into(),
        text: "Hello".into(),
        created_ms: unix_millis(std::time::SystemTime::now()),
        ..XDm::default()
    };
    let (status, body) = sim.send_x_dm(X_INTEGRATION, &dm).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let om_customer = "om-customer-side-by-side";
    let open = |text: &str| OpenMessage {
        message_id: format!("om-{}", ids.next_id()),
        from_id: om_customer.into(),
        nickname: Some("Olive".into()),
        text: text.into(),
        time_rfc3339: rfc3339_utc(std::time::SystemTime::now()),
    };
    let (status, body) = sim
        .send_open_message(OM_INTEGRATION, &open("Hello"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    for customer in [x_customer, om_customer] {
        eventually(
            &format!("greeting and question to {customer}"),
            WAIT,
            || async {
                let got = sim
                    .delivered()
                    .into_iter()
                    .filter(|d| d.recipient_id == customer)
                    .count();
                if got >= 2 {
                    Ok(())
                } else {
                    Err(format!("{got}; refused {:?}", sim.refused()))
                }
            },
        )
        .await;
    }

    // The open-messaging customer reaches an agent, who replies through the 0.1.0 adapter.
    let (status, body) = sim
        .send_open_message(OM_INTEGRATION, &open("billing"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let id = eventually("the open-messaging customer in billing", WAIT, || async {
        let listing = api
            .get("/api/v1/queues/billing", Some(ALICE_TOKEN))
            .await
            .json();
        listing["waiting"]
            .as_array()
            .and_then(|w| w.iter().find(|c| c["customer_id"] == json!(om_customer)))
            .map(|c| c["id"].as_str().unwrap().to_string())
            .ok_or_else(|| listing.to_string())
    })
    .await;
    let presence = api
        .put_json(
            &format!("/api/v1/agents/{ALICE}/presence"),
            Some(ALICE_TOKEN),
            &json!({"presence": "available"}),
        )
        .await;
    assert_eq!(presence.status, 200, "{}", presence.text());
    let accepted = api
        .post_json(
            &format!("/api/v1/interactions/{id}/accept"),
            Some(ALICE_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    let typing = api
        .post_json(
            &format!("/api/v1/interactions/{id}/typing"),
            Some(ALICE_TOKEN),
            &json!({}),
        )
        .await;
    assert_eq!(typing.status, 200, "{}", typing.text());
    assert_eq!(typing.json()["sent"], json!(false));
    assert!(
        typing.json()["reason"]
            .as_str()
            .unwrap()
            .contains("implements switchboard:channel@0.1.0, which has no typing indicator"),
        "{}",
        typing.text()
    );
    let reply = api
        .post_json(
            &format!("/api/v1/interactions/{id}/messages"),
            Some(ALICE_TOKEN),
            &json!({"text": "Alice here, from a 0.1.0 adapter."}),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.text());
    eventually("the agent's reply delivered", WAIT, || async {
        let texts: Vec<Option<String>> = sim
            .delivered()
            .into_iter()
            .filter(|d| d.recipient_id == om_customer)
            .map(|d| d.text)
            .collect();
        if texts
            .iter()
            .any(|t| t.as_deref() == Some("Alice here, from a 0.1.0 adapter."))
        {
            Ok(())
        } else {
            Err(format!("{texts:?}"))
        }
    })
    .await;
}
