//! Flow plugins end to end through the runtime: the real components from `target/plugins/`
//! (built by `cargo xtask build-plugins`), the kv store, the HTTP grant and the deadline; and
//! the grants and manifests every plugin kind shares.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use switchboard::config::{PluginGrant, PluginsConfig};
use switchboard::runtime::{
    ActionError, BotExit, BotInput, CallErrorKind, FlowCallContext, FlowPlugin, FlowPluginKind,
    Loaded, PluginError, PluginKv, PluginRuntime,
};
use switchboard::store::sqlite::SqlitePluginKv;

fn plugins_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/plugins"))
}

fn component(name: &str) -> PathBuf {
    let path = plugins_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins` first",
        path.display()
    );
    path
}

fn runtime() -> PluginRuntime {
    PluginRuntime::new(&PluginsConfig {
        dir: plugins_dir(),
        cache_dir: std::env::temp_dir().join("switchboard-flow-plugin-cache"),
        deadline_ms: 2000,
        memory_mib: 64,
        ..PluginsConfig::default()
    })
    .expect("runtime")
}

async fn load(rt: &PluginRuntime, name: &str, grant: PluginGrant) -> FlowPlugin {
    rt.load_flow_plugin_file(&component(name), grant)
        .await
        .unwrap_or_else(|e| panic!("cannot load {name}: {e}"))
}

fn ctx() -> FlowCallContext {
    FlowCallContext {
        flow: "support".into(),
        conversation_id: "conv-1".into(),
    }
}

fn input(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn turn_input(text: &str, session: &str) -> BotInput {
    BotInput {
        conversation_id: "conv-1".into(),
        customer_id: "cust-1".into(),
        text: Some(text.into()),
        quick_reply: None,
        session: session.into(),
        variables: input(&[("tier", json!("gold"))]),
    }
}

#[tokio::test]
async fn faq_bot_answers_asks_and_hands_off() {
    let rt = runtime();
    let plugin = load(&rt, "faq-bot", PluginGrant::default()).await;
    assert_eq!(plugin.kind(), FlowPluginKind::Bot);
    assert_eq!(plugin.name(), "faq-bot");
    assert_eq!(plugin.wit_version(), "0.1.0");
    let bot = plugin.as_bot().expect("a bot");

    let out = bot
        .turn(&ctx(), turn_input("where is my order?", ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.exit, BotExit::Continue);
    assert_eq!(out.intent.as_deref(), Some("order_status"));
    let out = bot
        .turn(&ctx(), turn_input("it's 12-345", &out.session))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.exit, BotExit::Done);
    assert_eq!(out.slots.get("order_number"), Some(&json!("12-345")));
    assert!(out.confidence.is_some_and(|c| (0.0..=1.0).contains(&c)));

    let out = bot
        .turn(&ctx(), turn_input("let me talk to an agent", ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.exit, BotExit::Handoff);

    // Answers come from the plugin's own kv keys; another plugin's keys do not count.
    let kv = rt.kv_store();
    kv.set("directory", "faq/hours", "wrong plugin")
        .await
        .unwrap();
    let out = bot
        .turn(&ctx(), turn_input("opening hours?", ""))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(out.replies[0].text, "wrong plugin");
    kv.set("faq-bot", "faq/hours", "Open around the clock.")
        .await
        .unwrap();
    let out = bot
        .turn(&ctx(), turn_input("opening hours?", ""))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.exit, BotExit::Done);
    assert_eq!(out.intent.as_deref(), Some("hours"));
    assert_eq!(out.replies[0].text, "Open around the clock.");
}

#[tokio::test]
async fn directory_reads_and_writes_its_kv_store() {
    let rt = runtime();
    let dir = std::env::temp_dir().join(format!("switchboard-flow-kv-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let kv = Arc::new(SqlitePluginKv::open(&dir.join("plugin-kv.db")).unwrap());
    rt.set_kv_store(kv.clone());
    kv.set(
        "directory",
        "customer/alice",
        r#"{"name":"Alice A.","tier":"gold","customer_id":"C-1"}"#,
    )
    .await
    .unwrap();

    let plugin = load(&rt, "directory", PluginGrant::default()).await;
    assert_eq!(plugin.kind(), FlowPluginKind::DataAction);
    let actions = plugin.as_data_action().unwrap();
    let lookup = actions.action("lookup-customer").expect("lookup-customer");
    assert_eq!(lookup.inputs, ["handle"]);
    assert!(lookup.outputs.contains(&"customer_id".to_string()));

    let out = actions
        .call(
            &ctx(),
            "lookup-customer",
            input(&[("handle", json!("@Alice"))]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out["found"], "true");
    assert_eq!(out["name"], "Alice A.");
    assert_eq!(out["tier"], "gold");
    assert_eq!(out["customer_id"], "C-1");

    let out = actions
        .call(
            &ctx(),
            "upsert-customer",
            input(&[
                ("handle", json!("bob")),
                ("name", json!("Bob")),
                ("tier", json!(2)),
            ]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out["created"], "true");
    let stored: Value =
        serde_json::from_str(&kv.get("directory", "customer/bob").await.unwrap().unwrap()).unwrap();
    assert_eq!(
        stored["tier"], "2",
        "a number input reaches the plugin as its JSON text"
    );
    assert_eq!(
        kv.list("directory", "customer/")
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect::<Vec<_>>(),
        ["customer/alice", "customer/bob"]
    );

    let err = actions
        .call(&ctx(), "lookup-customer", Map::new())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ActionError::InvalidInput(_)), "{err:?}");
    let err = actions
        .call(&ctx(), "delete-everything", Map::new())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err, ActionError::NotFound("delete-everything".into()));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A loopback order backend counting the requests it gets.
async fn order_backend() -> (u16, Arc<AtomicUsize>) {
    use axum::extract::Path;
    use axum::http::StatusCode;
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/orders/{id}",
        axum::routing::get(move |Path(id): Path<String>| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                if id == "12-345" {
                    (
                        StatusCode::OK,
                        axum::Json(
                            json!({"status": "shipped", "eta": "2025-06-01", "carrier": "DHL"}),
                        ),
                    )
                } else {
                    (
                        StatusCode::NOT_FOUND,
                        axum::Json(json!({"error": "no such order"})),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (port, hits)
}

#[tokio::test]
async fn http_lookup_reaches_only_granted_hosts() {
    let rt = runtime();
    let (port, hits) = order_backend().await;
    let base = format!("http://127.0.0.1:{port}");
    rt.kv_store()
        .set("http-lookup", "config/base_url", &base)
        .await
        .unwrap();

    let granted = PluginGrant {
        http_hosts: vec![format!("127.0.0.1:{port}")],
        ..PluginGrant::default()
    };
    let plugin = load(&rt, "http-lookup", granted).await;
    let action = plugin.as_data_action().unwrap();
    let out = action
        .call(
            &ctx(),
            "order-status",
            input(&[("order_id", json!("12-345"))]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out["found"], "true");
    assert_eq!(out["status"], "shipped");
    assert_eq!(out["carrier"], "DHL");
    let out = action
        .call(
            &ctx(),
            "order-status",
            input(&[("order_id", json!("99-999"))]),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out["found"], "false");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    // Not granted at all, granted another port, or granted under another name: refused
    // before any connection.
    let other_port = if port == 65535 { 65534 } else { port + 1 };
    for grant in [
        PluginGrant::default(),
        PluginGrant {
            http_hosts: vec![format!("127.0.0.1:{other_port}")],
            ..PluginGrant::default()
        },
        PluginGrant {
            http_hosts: vec!["localhost".into(), "api.example.com".into()],
            ..PluginGrant::default()
        },
    ] {
        let hosts = grant.http_hosts.clone();
        let plugin = load(&rt, "http-lookup", grant).await;
        let err = plugin
            .as_data_action()
            .unwrap()
            .call(
                &ctx(),
                "order-status",
                input(&[("order_id", json!("12-345"))]),
            )
            .await
            .unwrap()
            .unwrap_err();
        match err {
            ActionError::Failed(m) => assert!(
                m.starts_with(&format!("denied host 127.0.0.1:{port}")),
                "grant {hosts:?}: {m}"
            ),
            other => panic!("grant {hosts:?}: expected a denial, got {other:?}"),
        }
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "a denied request must not connect"
    );
}

#[tokio::test]
async fn a_spinning_bot_hits_its_deadline() {
    let rt = runtime();
    let grant = PluginGrant {
        deadline_ms: Some(150),
        ..PluginGrant::default()
    };
    let plugin = load(&rt, "fixtures/spin-bot", grant).await;
    let started = Instant::now();
    let err = plugin
        .as_bot()
        .unwrap()
        .turn(&ctx(), turn_input("hello", ""))
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err.kind(), Some(CallErrorKind::Timeout), "{err}");
    assert!(elapsed >= Duration::from_millis(140), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    let text = err.to_string();
    assert!(
        text.contains("spin-bot") && text.contains("`turn`") && text.contains("0.1.0"),
        "{text}"
    );
}

#[tokio::test]
async fn non_flow_components_and_bad_grants_are_refused_at_load() {
    let rt = runtime();
    let err = match rt
        .load_flow_plugin_file(&component("x"), PluginGrant::default())
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("a channel adapter loaded as a flow plugin"),
    };
    assert!(matches!(err, PluginError::Load { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("not a flow plugin")
            && text.contains("0.1.0")
            && text.contains("switchboard:flow/bot"),
        "{text}"
    );

    let greedy = PluginGrant {
        memory_mib: Some(1024),
        ..PluginGrant::default()
    };
    let err = match rt
        .load_flow_plugin_file(&component("faq-bot"), greedy)
        .await
    {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a grant above the pool's memory was accepted"),
    };
    assert!(err.contains("1024 MiB"), "{err}");
}

/// One entry point loads any component as the world its exports implement; the kind-specific
/// loaders refuse the other kind, and a component of no known world is refused with every world
/// and version the host runs.
#[tokio::test]
async fn load_picks_the_world_from_the_component() {
    let rt = runtime();
    let load = |name: &'static str| {
        let rt = rt.clone();
        async move {
            let bytes = std::fs::read(component(name)).unwrap();
            rt.load(name, bytes, &PluginGrant::none(name)).await
        }
    };
    match load("x").await.unwrap() {
        Loaded::Adapter(adapter) => {
            assert_eq!(adapter.wit_version(), "0.2.0");
            assert_eq!(adapter.name(), "x");
        }
        Loaded::Flow(_) => panic!("x loaded as a flow plugin"),
    }
    match load("faq-bot").await.unwrap() {
        Loaded::Flow(plugin) => assert_eq!(plugin.kind(), FlowPluginKind::Bot),
        Loaded::Adapter(_) => panic!("faq-bot loaded as an adapter"),
    }
    let directory = load("directory").await.unwrap();
    assert_eq!(directory.name(), "directory");
    assert_eq!(directory.wit_version(), "0.1.0");
    match directory {
        Loaded::Flow(plugin) => assert_eq!(plugin.kind(), FlowPluginKind::DataAction),
        Loaded::Adapter(_) => panic!("directory loaded as an adapter"),
    }

    let bot = std::fs::read(component("faq-bot")).unwrap();
    let err = match rt
        .load_adapter("faq-bot", bot, &PluginGrant::none("faq-bot"))
        .await
    {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a bot loaded as a channel adapter"),
    };
    assert!(
        err.contains(
            "it is not a channel adapter: it implements switchboard:flow/bot-plugin@0.1.0"
        ) && err.contains("`switchboard:channel/handler@VERSION`"),
        "{err}"
    );

    // The smallest valid component: it exports nothing.
    let empty = b"\0asm\x0d\x00\x01\x00".to_vec();
    let err = match rt.load("empty", empty, &PluginGrant::none("empty")).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an empty component loaded"),
    };
    assert!(
        err.starts_with("plugin `empty` cannot be loaded: it does not implement a known world")
            && err.contains("(world switchboard:channel/adapter, versions 0.2.0, 0.1.0)")
            && err.contains("(world switchboard:flow/bot-plugin, versions 0.1.0)")
            && err.contains("(world switchboard:flow/data-action-plugin, versions 0.1.0)")
            && err.ends_with("it exports []"),
        "{err}"
    );
}

/// `component` with one more custom section (which Wasm ignores).
fn with_custom_section(mut component: Vec<u8>, name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    component.push(0);
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

#[tokio::test]
async fn a_manifest_asking_for_more_than_the_grant_is_refused() {
    let rt = runtime();
    // The SDK's `manifest!` survives the build: faq-bot asks for 16 MiB.
    let bot = load(&rt, "faq-bot", PluginGrant::none("faq-bot")).await;
    let asked = bot.manifest().expect("faq-bot has a manifest");
    assert_eq!(asked.memory_mib, Some(16));

    let bytes = std::fs::read(component("http-lookup")).unwrap();
    let grant = PluginGrant {
        http_hosts: vec!["127.0.0.1".into()],
        ..PluginGrant::none("http-lookup")
    };
    // Asking for a granted host (any port of it is granted) loads.
    let modest = with_custom_section(
        bytes.clone(),
        "switchboard-manifest",
        b"http_hosts = [\"127.0.0.1:9191\"]\n",
    );
    let loaded = rt
        .load_flow_plugin("http-lookup", modest, grant.clone())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        loaded.manifest().unwrap().http_hosts,
        vec!["127.0.0.1:9191".to_string()]
    );

    // Asking for a host nobody granted, or a longer deadline, is refused with what to change.
    let greedy = with_custom_section(
        bytes,
        "switchboard-manifest",
        b"http_hosts = [\"crm.example.com\"]\ndeadline_ms = 10000\n",
    );
    let err = match rt.load_flow_plugin("http-lookup", greedy, grant).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("an over-asking plugin loaded"),
    };
    assert!(
        err.contains("`crm.example.com`, which is not granted")
            && err.contains("[[plugin]] entry with name = \"http-lookup\"")
            && err.contains("10000 ms call deadline; 2000 ms is granted"),
        "{err}"
    );
}

/// Grants are per plugin for adapters too: the flood fixture's 20 MiB answer is refused at the
/// default output limit and passes under a grant that allows it.
#[tokio::test]
async fn an_adapter_grant_overrides_the_default_limits() {
    use switchboard::runtime::{CallContext, WebhookRequest};

    let rt = runtime();
    let bytes = std::fs::read(component("fixtures/flood")).unwrap();
    let request = || WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/flood".into(),
        query: String::new(),
        headers: Vec::new(),
        body: b"{}".to_vec(),
    };
    let ctx = CallContext {
        integration_id: "flood".into(),
        settings: Default::default(),
    };

    let default = rt
        .load_adapter(
            "fixtures/flood",
            bytes.clone(),
            &PluginGrant::none("fixtures/flood"),
        )
        .await
        .unwrap();
    let err = default.handle_webhook(&ctx, request()).await.unwrap_err();
    assert_eq!(err.kind(), Some(CallErrorKind::OutputLimit), "{err}");

    let grant = PluginGrant {
        max_output_bytes: Some(32 << 20),
        ..PluginGrant::none("fixtures/flood")
    };
    let granted = rt
        .load_adapter("fixtures/flood", bytes, &grant)
        .await
        .unwrap();
    assert_eq!(granted.limits().max_output_bytes, 32 << 20);
    let outcome = granted
        .handle_webhook(&ctx, request())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome.body.len(), 20 << 20);
}
