//! Generated bodies for every admin and agent route that takes one, against a real host:
//! random JSON of plausible and wrong shapes, wrong types, huge strings, deep nesting, invalid
//! UTF-8, truncated JSON, random bytes, wrong or missing content types; all authorised.
//!
//! Every answer must be 2xx or 4xx (never 5xx, never a dropped connection), an error's body must
//! not show absolute paths or internal error text, and afterwards the host still answers
//! `/healthz` and a signed webhook. The outcomes are printed per route.
//!
//! Seeded: `SWITCHBOARD_FUZZ_SEED` (default 1) and `SWITCHBOARD_FUZZ_COUNT` bodies per route
//! (default 25 in the suite).

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::{Value, json};
use switchboard_tests::fuzz::Rng;
use switchboard_tests::harness::{ADMIN_TOKEN, ALICE_TOKEN, TestEnv};

/// Each route with a body: method, path, and whose token.
const ROUTES: &[(&str, &str, bool)] = &[
    ("PUT", "/admin/v1/flows/fuzz", true),
    ("POST", "/admin/v1/flows/fuzz/rollback", true),
    ("POST", "/admin/v1/agents", true),
    ("PUT", "/admin/v1/agents/fuzz-agent", true),
    ("PUT", "/admin/v1/integrations/fuzz-integration", true),
    ("PUT", "/admin/v1/plugins/fuzz-plugin", true),
    ("POST", "/admin/v1/plugins/faq-bot/rollback", true),
    ("PUT", "/admin/v1/plugins/faq-bot/kv/fuzz-key", true),
    ("PUT", "/admin/v1/canned/fuzz", true),
    ("PUT", "/admin/v1/filters/fuzz", true),
    ("PUT", "/admin/v1/schedule-groups/fuzz/emergency", true),
    (
        "PUT",
        "/admin/v1/schedule-groups/fuzz/holidays/2026-12-25",
        true,
    ),
    ("POST", "/api/v1/stream-tickets", false),
    ("PUT", "/api/v1/agents/alice/presence", false),
    ("POST", "/api/v1/interactions/c-fuzz/accept", false),
    ("POST", "/api/v1/interactions/c-fuzz/decline", false),
    ("POST", "/api/v1/interactions/c-fuzz/messages", false),
    ("POST", "/api/v1/interactions/c-fuzz/typing", false),
    ("POST", "/api/v1/interactions/c-fuzz/wrapup", false),
    ("POST", "/api/v1/interactions/c-fuzz/transfer", false),
    ("POST", "/api/v1/interactions/c-fuzz/attachments", false),
];

/// Field names the routes read, so that random objects come near the right shapes.
const FIELDS: &[&str] = &[
    "presence",
    "status",
    "text",
    "name",
    "queues",
    "adapter",
    "settings",
    "capacity",
    "token",
    "code",
    "note",
    "to_queue",
    "to_agent",
    "queue",
    "agent",
    "version",
    "value",
    "words",
    "patterns",
    "enabled",
    "active",
    "reason",
    "skills",
    "languages",
    "template",
    "attachments",
    "quick_replies",
    "platform",
    "flow",
    "secret",
    "size",
    "send_limits",
    "id",
    "title",
    "body",
];

fn random_json(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 3 { 6 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.one_in(2)),
        2 => json!(rng.next() as i64),
        3 => json!(f64::from_bits(rng.next()).to_string()),
        4 => json!(*rng.pick(&[
            "available",
            "away",
            "offline",
            "",
            "../../etc/passwd",
            "x".repeat(300).as_str(),
            "entry",
            "1/s",
            "{{",
            "support"
        ])),
        5 => json!(rng.next() % 1000),
        6 | 7 => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(6) {
                map.insert(rng.pick(FIELDS).to_string(), random_json(rng, depth + 1));
            }
            Value::Object(map)
        }
        _ => Value::Array(
            (0..rng.below(4))
                .map(|_| random_json(rng, depth + 1))
                .collect(),
        ),
    }
}

/// A body of the right shape for a route (`None`: none known), to mutate.
fn template(path: &str, fetched: &BTreeMap<&str, Value>) -> Option<Value> {
    let route = path.rsplit('/').next().unwrap_or_default();
    Some(match route {
        "rollback" => json!({ "version": 1 }),
        "fuzz-agent" | "agents" => {
            let mut agent = fetched.get("agent")?.clone();
            agent["id"] = json!("fuzz-agent");
            agent
        }
        "fuzz-integration" => {
            let mut integration = fetched.get("integration")?.clone();
            integration["id"] = json!("fuzz-integration");
            integration
        }
        "fuzz" if path.contains("canned") => json!({ "title": "Hello", "text": "Hi there" }),
        "fuzz" if path.contains("filters") => json!({ "kind": "words", "pattern": "darn" }),
        "emergency" => json!({ "active": true }),
        "presence" => json!({ "presence": "available" }),
        "messages" => json!({ "text": "hello" }),
        "wrapup" => json!({ "code": "resolved", "notes": "done" }),
        "transfer" => json!({ "queue": "billing", "note": "over to you" }),
        _ => return None,
    })
}

/// `template` with one field removed, retyped, made huge, pointed outside, or one added.
fn reshaped(rng: &mut Rng, mut value: Value) -> Value {
    let Value::Object(map) = &mut value else {
        return value;
    };
    let keys: Vec<String> = map.keys().cloned().collect();
    let key = if keys.is_empty() {
        "id".to_string()
    } else {
        rng.pick(&keys).clone()
    };
    match rng.below(6) {
        0 => {
            map.remove(&key);
        }
        1 => {
            map.insert(key, random_json(rng, 1));
        }
        2 => {
            map.insert(key, json!("ü".repeat(1 + rng.below(100_000))));
        }
        3 => {
            map.insert(
                key,
                json!(*rng.pick(&[
                    "../plugins/x",
                    "/etc/passwd",
                    "..",
                    "a/b",
                    "",
                    "\u{0}",
                    "x".repeat(1_100).as_str()
                ])),
            );
        }
        4 => {
            map.insert(rng.pick(FIELDS).to_string(), random_json(rng, 1));
        }
        _ => {}
    }
    value
}

/// A body and its content type (`None`: no header), and what kind it is.
fn body(rng: &mut Rng, template: Option<&Value>) -> (&'static str, Vec<u8>, Option<&'static str>) {
    let json_type = Some("application/json");
    if let Some(template) = template
        && rng.one_in(2)
    {
        let value = reshaped(rng, template.clone());
        return (
            "the right shape, reshaped",
            value.to_string().into_bytes(),
            json_type,
        );
    }
    match rng.below(10) {
        0 | 1 | 2 => (
            "random JSON",
            random_json(rng, 0).to_string().into_bytes(),
            json_type,
        ),
        3 => {
            let mut v = random_json(rng, 0);
            if let Value::Object(map) = &mut v {
                map.insert(
                    rng.pick(FIELDS).to_string(),
                    json!("é".repeat(1 + rng.below(600_000))),
                );
            } else {
                v = json!({ *rng.pick(FIELDS): "a".repeat(1 + rng.below(3_000_000)) });
            }
            ("a huge string", v.to_string().into_bytes(), json_type)
        }
        4 => {
            let depth = 1 + rng.below(50_000);
            let open = if rng.one_in(2) { "[" } else { "{\"a\":" };
            ("deep nesting", open.repeat(depth).into_bytes(), json_type)
        }
        5 => {
            let mut b = random_json(rng, 0).to_string().into_bytes();
            let at = rng.below(b.len() + 1);
            b.splice(
                at..at,
                rng.pick(&[b"\xff\xfe".as_slice(), b"\xc3\x28", b"\xed\xa0\x80"])
                    .iter()
                    .copied(),
            );
            ("invalid UTF-8", b, json_type)
        }
        6 => {
            let mut b = random_json(rng, 0).to_string().into_bytes();
            b.truncate(rng.below(b.len() + 1));
            ("truncated", b, json_type)
        }
        7 => (
            "random bytes",
            (0..rng.below(4096)).map(|_| rng.next() as u8).collect(),
            json_type,
        ),
        8 => {
            let kind = *rng.pick(&[
                None,
                Some("text/plain"),
                Some("application/yaml"),
                Some("multipart/form-data; boundary=x"),
                Some("application/octet-stream"),
                Some("application/json; charset=latin1"),
            ]);
            (
                "another content type",
                random_json(rng, 0).to_string().into_bytes(),
                kind,
            )
        }
        _ => ("empty", Vec::new(), json_type),
    }
}

/// What an error's body must not show: where the host runs, or the text of an internal error.
fn leaks(body: &str) -> Option<&'static str> {
    [
        "/tmp/",
        "/work/",
        "/root/",
        "/home/",
        "panicked",
        "rusqlite",
        "SqliteFailure",
        ".rs:",
        "stack backtrace",
        "Os {",
        "No such file",
    ]
    .into_iter()
    .find(|needle| body.contains(needle))
}

#[derive(Default)]
struct Row {
    by_status: BTreeMap<u16, usize>,
    problems: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_with_a_body_answers_generated_bodies_with_4xx_or_2xx() {
    let count = switchboard_tests::fuzz::count(25);
    let seed = switchboard_tests::fuzz::seed();
    let env = TestEnv::start("routes-fuzz", |_| {}).await;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    // The right shapes of an agent and an integration, as the host gives them.
    let mut fetched: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, path) in [
        ("agent", "/admin/v1/agents/alice"),
        ("integration", "/admin/v1/integrations/x-demo"),
    ] {
        let response = env.api.get(path, Some(ADMIN_TOKEN)).await;
        if response.status.is_success() {
            fetched.insert(name, response.json());
        }
    }
    // A flow whose condition nests deep overflowed a server thread's stack and aborted the host.
    let deep = format!(
        "start: a\nsteps:\n  a:\n    type: decision\n    condition: '{}1{} == 1'\n    then: b\n    else: b\n  b:\n    type: disconnect\n",
        "(".repeat(60),
        ")".repeat(60)
    );
    let response = env
        .api
        .put_raw(
            "/admin/v1/flows/deep",
            Some(ADMIN_TOKEN),
            "application/yaml",
            deep.into_bytes(),
        )
        .await;
    assert!(
        response.status.is_success(),
        "{} {}",
        response.status,
        response.text()
    );
    for (method, path, admin) in ROUTES {
        let mut rng = Rng::salted(seed, path);
        let template = template(path, &fetched);
        let row = rows.entry(format!("{method} {path}")).or_default();
        for n in 0..count {
            let (what, bytes, content_type) = body(&mut rng, template.as_ref());
            let input = format!("{method} {path} input {n} (seed {seed}, {what})");
            let headers: Vec<(&str, &str)> = content_type
                .map(|t| ("content-type", t))
                .into_iter()
                .collect();
            let token = if *admin { ADMIN_TOKEN } else { ALICE_TOKEN };
            let answer = env
                .api
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    path,
                    Some(token),
                    &headers,
                    bytes,
                )
                .await;
            match answer {
                Err(e) => row.problems.push(format!("{input}: no answer: {e:#}")),
                Ok(response) => {
                    let status = response.status.as_u16();
                    *row.by_status.entry(status).or_default() += 1;
                    if status >= 500 || status < 200 || (300..400).contains(&status) {
                        row.problems
                            .push(format!("{input}: {status} {}", response.text()));
                    } else if status >= 400
                        && let Some(leak) = leaks(&response.text())
                    {
                        row.problems.push(format!(
                            "{input}: the error shows `{leak}`: {}",
                            response.text()
                        ));
                    }
                }
            }
        }
    }
    println!("{count} generated bodies per route, seed {seed}:");
    let mut problems = Vec::new();
    for (route, row) in &rows {
        let statuses: Vec<String> = row
            .by_status
            .iter()
            .map(|(s, n)| format!("{s}×{n}"))
            .collect();
        println!(
            "{route:<58} {:>3} problems  {}",
            row.problems.len(),
            statuses.join(" ")
        );
        problems.extend(row.problems.iter().cloned());
    }
    // Still serving.
    let health = env.api.get("/healthz", None).await;
    assert_eq!(health.status.as_u16(), 200, "{}", health.text());
    env.send_dm_text("fuzz-customer", "still there?").await;
    let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
    assert!(
        problems.is_empty(),
        "{} problems, the first:\n{}",
        problems.len(),
        shown.join("\n")
    );
}
