//! The ACD end to end: routing by skills, language, priority and capacity; last-agent routing;
//! alerting timeouts and declines; threading windows; wrap-up per portion; content filters; the
//! inactivity timer; live agent events; and 100 interactions shared by 10 agents.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_tests::fixtures::{UniqueIds, XDm, unix_millis};
use switchboard_tests::harness::{
    ADMIN_TOKEN, Api, HostProcess, TempDir, TestConfig, WAIT, X_ACCOUNT_ID, X_INTEGRATION,
    eventually, sim_config, workspace_dir,
};
use switchboard_tests::sim::PlatformSim;

/// Routes by the first message: `invoice` (skill invoices), `invoice-vip` (also priority 10),
/// `deutsch` (language de), anything else to billing without requirements.
const ROUTE_FLOW: &str = r#"start: route
steps:
  route:
    type: switch
    cases:
      - when: 'message.text == "invoice"'
        next: invoice
      - when: 'message.text == "invoice-vip"'
        next: invoice_vip
      - when: 'message.text == "deutsch"'
        next: german
    default: general
  invoice:
    type: transfer
    queue: billing
    skills: [invoices]
  invoice_vip:
    type: transfer
    queue: billing
    skills: [invoices]
    priority: 10
  german:
    type: transfer
    queue: billing
    language: de
  general:
    type: transfer
    queue: billing
"#;

fn agent_toml(id: &str, capacity: u32, extra: &str) -> String {
    format!(
        "\n[[agent]]\nid = \"{id}\"\nname = \"{id}\"\ntoken = \"e2e-{id}-token\"\nqueues = [\"billing\"]\ncapacity = {capacity}\n{extra}\n"
    )
}

fn token(agent: &str) -> String {
    format!("e2e-{agent}-token")
}

struct Env {
    sim: PlatformSim,
    host: HostProcess,
    api: Api,
    ids: UniqueIds,
}

async fn start(label: &str, customize: impl FnOnce(&mut TestConfig)) -> Env {
    let sim = PlatformSim::start(sim_config()).await.unwrap();
    let dir = TempDir::new(label);
    let flows = dir.path().join("flows");
    std::fs::create_dir_all(&flows).unwrap();
    std::fs::copy(
        workspace_dir().join("flows/support.yaml"),
        flows.join("support.yaml"),
    )
    .unwrap();
    std::fs::write(flows.join("route-test.yaml"), ROUTE_FLOW).unwrap();
    let mut config = TestConfig::new(&dir, &sim.base_url());
    config.flows_dir = Some(flows);
    config.x_flow = "route-test".into();
    customize(&mut config);
    let host = HostProcess::start(dir, &config.render()).await;
    sim.set_host_base_url(host.base_url());
    let api = host.api();
    Env {
        sim,
        host,
        api,
        ids: UniqueIds::new(),
    }
}

impl Env {
    async fn dm(&self, customer: &str, text: &str) {
        let dm = XDm {
            event_id: self.ids.next_id(),
            sender_id: customer.into(),
            for_user_id: X_ACCOUNT_ID.into(),
            text: text.into(),
            created_ms: unix_millis(std::time::SystemTime::now()),
            ..XDm::default()
        };
        let (status, body) = self.sim.send_x_dm(X_INTEGRATION, &dm).await.unwrap();
        assert_eq!(status, 200, "{body}");
    }

    async fn presence(&self, agent: &str, presence: &str) {
        let r = self
            .api
            .put_json(
                &format!("/api/v1/agents/{agent}/presence"),
                Some(&token(agent)),
                &json!({ "presence": presence }),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }

    async fn interactions(&self, agent: &str) -> Vec<Value> {
        let r = self
            .api
            .get(
                &format!("/api/v1/agents/{agent}/interactions"),
                Some(&token(agent)),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()["interactions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `agent` is offered an interaction of `customer`; returns its id.
    async fn offered(&self, agent: &str, customer: &str) -> String {
        eventually(&format!("{customer} offered to {agent}"), WAIT, || async {
            let all = self.interactions(agent).await;
            all.iter()
                .find(|i| i["state"] == json!("offered") && i["customer_id"] == json!(customer))
                .map(|i| i["id"].as_str().unwrap().to_string())
                .ok_or_else(|| format!("{agent} has {all:?}"))
        })
        .await
    }

    async fn offered_count(&self, agent: &str) -> usize {
        self.interactions(agent)
            .await
            .iter()
            .filter(|i| i["state"] == json!("offered"))
            .count()
    }

    async fn post(&self, agent: &str, path: &str, body: Value) -> (u16, Value) {
        let r = self.api.post_json(path, Some(&token(agent)), &body).await;
        (r.status.as_u16(), r.json())
    }

    async fn accept(&self, agent: &str, id: &str) {
        let (status, body) = self
            .post(
                agent,
                &format!("/api/v1/interactions/{id}/accept"),
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn wrap_up(&self, agent: &str, id: &str, code: &str) {
        let (status, body) = self
            .post(
                agent,
                &format!("/api/v1/interactions/{id}/wrapup"),
                json!({ "code": code }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    async fn me(&self, agent: &str) -> Value {
        self.api.get("/api/v1/me", Some(&token(agent))).await.json()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn routing_by_skills_language_priority_capacity_and_idle_time() {
    let env = start("acd-routing", |c| {
        c.extra_toml = agent_toml("bob", 1, "skills = { invoices = 3 }")
            + &agent_toml("dave", 4, "")
            + &agent_toml("carol", 4, "languages = [\"de\"]");
    })
    .await;
    // Dave has been idle longest; Bob alone has the invoices skill; Carol alone speaks German.
    env.presence("dave", "available").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    env.presence("bob", "away").await;
    env.presence("carol", "available").await;

    // While Bob is away, an ordinary invoice question and then a priority one wait for him.
    env.dm("1800000000000000001", "invoice").await;
    env.dm("1800000000000000002", "invoice-vip").await;
    env.dm("1800000000000000003", "deutsch").await;
    env.dm("1800000000000000004", "hello").await;
    let german = env.offered("carol", "1800000000000000003").await;
    let general = env.offered("dave", "1800000000000000004").await;
    assert_eq!(env.offered_count("bob").await, 0);
    // Only Bob may take the invoice questions; Dave and Carol are never offered them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.offered_count("dave").await, 1);
    assert_eq!(env.offered_count("carol").await, 1);

    // Bob comes back: with capacity 1 he is offered the priority question first, although it
    // came second, and the other waits until he is free again.
    env.presence("bob", "available").await;
    let vip = env.offered("bob", "1800000000000000002").await;
    env.accept("bob", &vip).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.offered_count("bob").await, 0, "capacity 1 is respected");
    env.wrap_up("bob", &vip, "resolved").await;
    let ordinary = env.offered("bob", "1800000000000000001").await;
    env.accept("bob", &ordinary).await;
    env.accept("carol", &german).await;
    env.accept("dave", &general).await;

    // An interaction offered to one agent cannot be taken by another.
    env.dm("1800000000000000005", "hello").await;
    let next = env.offered("dave", "1800000000000000005").await;
    let (status, body) = env
        .post(
            "carol",
            &format!("/api/v1/interactions/{next}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("offered to another agent"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alerting_timeout_decline_last_agent_and_portions() {
    let env = start("acd-alerting", |c| {
        c.billing_options
            .push("alerting_timeout_seconds = 0.5".into());
        c.extra_toml = agent_toml("bob", 4, "") + &agent_toml("dave", 4, "");
    })
    .await;
    env.presence("dave", "available").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    env.presence("bob", "available").await;

    // Dave (longest idle) lets the offer ring out: he becomes not-responding, Bob gets it.
    env.dm("1810000000000000001", "hello").await;
    env.offered("dave", "1810000000000000001").await;
    let id = env.offered("bob", "1810000000000000001").await;
    assert_eq!(env.me("dave").await["presence"], json!("not-responding"));
    assert_eq!(env.offered_count("dave").await, 0);

    // Bob declines: with Dave not responding nobody is left, and it waits in the queue.
    let (status, body) = env
        .post(
            "bob",
            &format!("/api/v1/interactions/{id}/decline"),
            json!({}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        env.offered_count("bob").await,
        0,
        "a declined offer is not offered back"
    );
    let queue = env
        .api
        .get("/api/v1/queues/billing", Some(&token("bob")))
        .await
        .json();
    assert_eq!(queue["waiting"].as_array().unwrap().len(), 1, "{queue}");

    // A second customer: Bob handles it, wraps up; the customer writes again within the
    // threading window and the same interaction comes back to Bob (the last agent), though
    // Dave is available again and idle longer.
    env.presence("dave", "available").await;
    env.dm("1810000000000000002", "hello").await;
    let second = eventually("the second customer offered", WAIT, || async {
        for agent in ["bob", "dave"] {
            if let Some(i) = env
                .interactions(agent)
                .await
                .iter()
                .find(|i| i["customer_id"] == json!("1810000000000000002"))
            {
                return Ok((agent, i["id"].as_str().unwrap().to_string()));
            }
        }
        Err("not offered yet".to_string())
    })
    .await;
    let (first_agent, second_id) = second;
    env.accept(first_agent, &second_id).await;
    env.wrap_up(first_agent, &second_id, "resolved").await;
    env.dm("1810000000000000002", "one more thing").await;
    let again = env.offered(first_agent, "1810000000000000002").await;
    assert_eq!(again, second_id, "the same interaction continues");
    env.accept(first_agent, &again).await;
    env.wrap_up(first_agent, &again, "follow-up").await;
    let transcript = env
        .api
        .get(&format!("/api/v1/interactions/{again}"), Some(ADMIN_TOKEN))
        .await
        .json();
    let codes: Vec<&str> = transcript["wrapups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec!["resolved", "follow-up"],
        "a wrap-up per portion: {transcript}"
    );
    let from_customer = transcript["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == json!("customer"))
        .count();
    assert_eq!(from_customer, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_zero_hour_window_makes_every_message_a_new_interaction() {
    let env = start("acd-window", |c| {
        c.x_options.push("threading_window_hours = 0".into());
        c.extra_toml = agent_toml("bob", 4, "");
    })
    .await;
    env.presence("bob", "available").await;
    env.dm("1820000000000000001", "hello").await;
    let first = env.offered("bob", "1820000000000000001").await;
    env.dm("1820000000000000001", "hello again").await;
    let both = eventually("two interactions", WAIT, || async {
        let ids: HashSet<String> = env
            .interactions("bob")
            .await
            .iter()
            .filter(|i| i["customer_id"] == json!("1820000000000000001"))
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect();
        if ids.len() == 2 {
            Ok(ids)
        } else {
            Err(format!("{ids:?}"))
        }
    })
    .await;
    assert!(both.contains(&first));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn content_filters_canned_responses_inactivity_and_live_events() {
    let env = start("acd-agent-tools", |c| {
        c.x_flow = "support".into();
        c.billing_options.push(
            "inactivity = { warn_after_minutes = 0.01, warning = \"Still there?\", end_after_minutes = 0.03, end_text = \"Closing this chat.\" }".into(),
        );
        c.extra_toml = agent_toml("bob", 4, "");
    })
    .await;
    let events = EventStream::open(&env.host.base_url(), "bob");
    env.presence("bob", "available").await;
    env.dm("1830000000000000001", "hi").await;
    env.dm("1830000000000000001", "1").await;
    let id = env.offered("bob", "1830000000000000001").await;
    let offered = events.wait_for("offered");
    assert_eq!(offered["interaction"], json!(id));
    env.accept("bob", &id).await;

    // Admins define a filter and a canned response.
    let put = env
        .api
        .put_json(
            "/admin/v1/filters/no-refunds",
            Some(ADMIN_TOKEN),
            &json!({"kind": "word", "pattern": "refund"}),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.text());
    let put = env
        .api
        .put_json("/admin/v1/canned/greeting", Some(ADMIN_TOKEN), &json!({"title": "Greeting", "text": "Hello {{customer.name | \"there\"}}, {{agent.name}} here."}))
        .await;
    assert_eq!(put.status, 200, "{}", put.text());

    let (status, body) = env
        .post(
            "bob",
            &format!("/api/v1/interactions/{id}/messages"),
            json!({"text": "We will refund you."}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], json!("content_blocked"));
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-refunds"),
        "{body}"
    );
    let (status, body) = env
        .post(
            "bob",
            &format!("/api/v1/interactions/{id}/messages"),
            json!({"canned": "greeting"}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    // The bot's earlier messages may report their own delivery status first.
    events.wait_for_where("delivery_status", |e| {
        e["message_id"] == body["id"] && e["status"] == json!("sent")
    });
    let texts = eventually(
        "the canned greeting, the warning and the close delivered",
        WAIT,
        || async {
            let texts: Vec<String> = env
                .sim
                .delivered()
                .into_iter()
                .filter(|d| d.recipient_id == "1830000000000000001")
                .filter_map(|d| d.text)
                .collect();
            if texts.iter().any(|t| t == "Closing this chat.") {
                Ok(texts)
            } else {
                Err(format!("{texts:?}"))
            }
        },
    )
    .await;
    assert!(
        texts.contains(&"Hello Dana Customer, bob here.".to_string()),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("refund")),
        "a blocked message never goes out: {texts:?}"
    );
    let warn = texts
        .iter()
        .position(|t| t == "Still there?")
        .expect("the warning");
    let close = texts
        .iter()
        .position(|t| t == "Closing this chat.")
        .unwrap();
    assert!(warn < close, "{texts:?}");
    let disconnected = events.wait_for("disconnected");
    assert_eq!(
        (
            disconnected["interaction"].clone(),
            disconnected["reason"].clone()
        ),
        (json!(id), json!("inactivity"))
    );
    let transcript = env
        .api
        .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN_TOKEN))
        .await
        .json();
    assert_eq!(transcript["state"], json!("ended"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_interactions_and_ten_agents() {
    let agents: Vec<String> = (0..10).map(|i| format!("agent{i}")).collect();
    let env = Arc::new(
        start("acd-load", |c| {
            c.extra_toml = agents.iter().map(|a| agent_toml(a, 4, "")).collect()
        })
        .await,
    );
    for agent in &agents {
        env.presence(agent, "available").await;
    }
    for i in 0..100 {
        env.dm(&format!("19000000000000{i:05}"), "hello").await;
    }
    // Every agent accepts what it is offered and wraps it up, until all 100 are done.
    let mut workers = Vec::new();
    for agent in agents.clone() {
        let env = env.clone();
        workers.push(tokio::spawn(async move {
            let mut handled = Vec::new();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                let queue = env
                    .api
                    .get("/api/v1/queues/billing", Some(&token(&agent)))
                    .await
                    .json();
                let mine = env.interactions(&agent).await;
                if mine.is_empty() && queue["waiting"].as_array().is_some_and(|w| w.is_empty()) {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{agent} still busy: {mine:?} / {queue}"
                );
                assert!(
                    mine.len() <= 4,
                    "{agent} holds or is offered more than its capacity: {mine:?}"
                );
                for i in mine {
                    let id = i["id"].as_str().unwrap().to_string();
                    if i["state"] == json!("offered") {
                        let (status, body) = env
                            .post(
                                &agent,
                                &format!("/api/v1/interactions/{id}/accept"),
                                json!({}),
                            )
                            .await;
                        assert_eq!(status, 200, "{agent}: {body}");
                        handled.push(id.clone());
                    }
                    env.wrap_up(&agent, &id, "resolved").await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (agent, handled)
        }));
    }
    let mut by_interaction: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for worker in workers {
        let (agent, handled) = worker.await.unwrap();
        for id in handled {
            by_interaction.entry(id).or_default().push(agent.clone());
        }
    }
    assert_eq!(
        by_interaction.len(),
        100,
        "every interaction was routed and accepted"
    );
    for (id, agents) in &by_interaction {
        assert_eq!(agents.len(), 1, "{id} was accepted by {agents:?}");
        let transcript = env
            .api
            .get(&format!("/api/v1/interactions/{id}"), Some(ADMIN_TOKEN))
            .await
            .json();
        assert_eq!(
            transcript["wrapups"].as_array().unwrap().len(),
            1,
            "{transcript}"
        );
    }
    let busiest = by_interaction
        .values()
        .fold(BTreeMap::<&String, usize>::new(), |mut m, a| {
            *m.entry(&a[0]).or_default() += 1;
            m
        });
    assert_eq!(busiest.len(), 10, "all ten agents took work: {busiest:?}");
}

/// An agent's server-sent event stream, read on a thread.
struct EventStream {
    events: std::sync::mpsc::Receiver<(String, Value)>,
}

impl EventStream {
    fn open(base_url: &str, agent: &str) -> EventStream {
        let addr = base_url.trim_start_matches("http://").to_string();
        let mut stream = TcpStream::connect(&addr).unwrap();
        write!(
            stream,
            "GET /api/v1/agents/{agent}/events?token={} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n",
            token(agent)
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut name = String::new();
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_string();
                } else if let Some(data) = line.strip_prefix("data: ")
                    && let Ok(value) = serde_json::from_str(data)
                    && tx.send((name.clone(), value)).is_err()
                {
                    break;
                }
            }
        });
        let events = EventStream { events: rx };
        assert_eq!(events.wait_for("hello")["id"], json!(agent));
        events
    }

    fn wait_for(&self, name: &str) -> Value {
        self.wait_for_where(name, |_| true)
    }

    /// The next `name` event whose data satisfies `wanted`; others are skipped.
    fn wait_for_where(&self, name: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok((n, data)) if n == name && wanted(&data) => return data,
                Ok(_) => {}
                Err(_) => panic!("no such `{name}` event within {WAIT:?}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn offers_and_assignments_survive_a_crash() {
    let mut env = start("acd-restart", |c| {
        c.extra_toml = agent_toml("bob", 4, "") + &agent_toml("dave", 4, "")
    })
    .await;
    env.presence("bob", "available").await;
    env.dm("1840000000000000001", "hello").await;
    env.dm("1840000000000000002", "hello").await;
    let held = env.offered("bob", "1840000000000000001").await;
    env.accept("bob", &held).await;
    let pending = env.offered("bob", "1840000000000000002").await;

    env.host.kill();
    env.host.restart().await;

    // Bob still holds the first and is still offered the second; nobody else can take it.
    let mine = env.interactions("bob").await;
    let state = |id: &str| {
        mine.iter()
            .find(|i| i["id"] == json!(id))
            .map(|i| i["state"].clone())
    };
    assert_eq!(state(&held), Some(json!("assigned")), "{mine:?}");
    assert_eq!(state(&pending), Some(json!("offered")), "{mine:?}");
    env.presence("dave", "available").await;
    let (status, _) = env
        .post(
            "dave",
            &format!("/api/v1/interactions/{pending}/accept"),
            json!({}),
        )
        .await;
    assert_eq!(status, 409);
    env.accept("bob", &pending).await;
    let (status, body) = env
        .post(
            "bob",
            &format!("/api/v1/interactions/{held}/messages"),
            json!({"text": "Still here after the restart."}),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}
