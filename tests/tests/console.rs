//! The browser console end to end: the real host serves the built console (`console/dist`) at
//! `/console/`, and `console/tests/agent.mjs` drives it in Debian's Chromium (through
//! `playwright-core`) as agent alice: sign in, go available, accept the customer's conversation,
//! read it, reply, see the reply sent, wrap up. The simulator must then have received the reply.
//! `console/tests/staff.mjs` drives two agents and a supervisor: participant data, dated
//! timestamps, a file sent with a reply, a transfer with a note, the supervisor's live view, and
//! search.
//!
//! Needs the console built and its packages installed (`cargo xtask build-console`: `npm ci` and
//! `npm run build` in `console/`), Node.js, and Chromium (`apt-get install chromium`, or the
//! browser binary in `CHROMIUM`). Without them this test fails and says so.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard_tests::fixtures::OpenAttachment;
use switchboard_tests::harness::support_flow::TO_BILLING;
use switchboard_tests::harness::{
    ADMIN_TOKEN, ALICE, ALICE_TOKEN, OM_INTEGRATION, TestEnv, workspace_dir,
};

const CUSTOMER: &str = "1500000000000000901";
const FIRST_TEXT: &str = "Hi, my invoice is wrong";
const REPLY: &str = "Hello from the console, I have corrected your invoice.";
/// How long the browser script may run (it has its own 30 s limit per step).
const BROWSER_DEADLINE: Duration = Duration::from_secs(240);

const HOW_TO_PREPARE: &str = "build the console with `cargo xtask build-console` (it runs `npm ci` \
     and `npm run build` in console/) and install Debian's Chromium with `apt-get install chromium` \
     (or point CHROMIUM at a Chromium binary)";

/// What the browser test needs, or a failure naming what is missing and how to get it.
struct Prerequisites {
    console_dir: PathBuf,
    dist: PathBuf,
    chromium: PathBuf,
}

fn prerequisites() -> Prerequisites {
    let console_dir = workspace_dir().join("console");
    let dist = console_dir.join("dist");
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    let mut missing = Vec::new();
    if !dist.join("index.html").is_file() {
        missing.push(format!(
            "the built console ({})",
            dist.join("index.html").display()
        ));
    }
    let playwright = console_dir.join("node_modules").join("playwright-core");
    if !playwright.is_dir() {
        missing.push(format!("the console's packages ({})", playwright.display()));
    }
    if !chromium.is_file() {
        missing.push(format!("the Chromium binary ({})", chromium.display()));
    }
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !node.is_ok_and(|s| s.success()) {
        missing.push("Node.js (`node` on PATH)".to_owned());
    }
    assert!(
        missing.is_empty(),
        "the console browser test cannot run: missing {}.\nTo run it, {HOW_TO_PREPARE}.",
        missing.join(", ")
    );
    Prerequisites {
        console_dir,
        dist,
        chromium,
    }
}

/// Runs `node console/tests/{script}` with `env`, its output in files under `dir`; kills it
/// after [`BROWSER_DEADLINE`]. Returns whether it exited 0 and what it printed.
async fn run_browser_script(
    prerequisites: &Prerequisites,
    script: &str,
    dir: &Path,
    env: &[(&str, String)],
) -> (bool, String) {
    let stdout_path = dir.join(format!("{script}.stdout"));
    let stderr_path = dir.join(format!("{script}.stderr"));
    let stdout = std::fs::File::create(&stdout_path).expect("creating the script's stdout file");
    let stderr = std::fs::File::create(&stderr_path).expect("creating the script's stderr file");
    let mut command = Command::new("node");
    command
        .arg(prerequisites.console_dir.join("tests").join(script))
        .current_dir(&prerequisites.console_dir)
        .env("CHROMIUM", &prerequisites.chromium)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr);
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("spawning node");
    let deadline = tokio::time::Instant::now() + BROWSER_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for node") {
            break Some(status);
        }
        if tokio::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    match status {
        Some(status) => (status.success(), format!("exit: {status}\n{output}")),
        None => (
            false,
            format!("killed after {BROWSER_DEADLINE:?} without exiting\n{output}"),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_answers_a_customer_in_the_browser_console() {
    let prerequisites = prerequisites();

    let env = TestEnv::start("console", |c| {
        c.console_dir = Some(prerequisites.dist.clone());
    })
    .await;
    let (host, api) = (&env.host, &env.api);

    // The console is served where the browser will look for it.
    let page = api.get("/console/", None).await;
    assert_eq!(page.status, 200, "GET /console/: {}", page.text());
    assert!(
        page.text().contains("<div id=\"app\">"),
        "GET /console/ is the console's index.html: {}",
        page.text()
    );

    // A customer writes on X and chooses Billing: the conversation waits in `billing`.
    for text in [FIRST_TEXT, "1"] {
        env.send_dm_text(CUSTOMER, text).await;
        if text == FIRST_TEXT {
            // The greeting and the question went out before the answer comes.
            env.texts_to(CUSTOMER, 2).await;
        }
    }
    let routed = env.texts_to(CUSTOMER, 3).await;
    assert_eq!(routed[2], TO_BILLING, "{routed:?}");
    let interaction_id = env.alice().wait_queued_id("billing", CUSTOMER).await;

    // The agent works it in the browser.
    let (passed, output) = run_browser_script(
        &prerequisites,
        "agent.mjs",
        host.dir(),
        &[
            ("SWITCHBOARD_URL", host.base_url()),
            ("AGENT_TOKEN", ALICE_TOKEN.to_owned()),
            ("CUSTOMER_ID", CUSTOMER.to_owned()),
            ("REPLY_TEXT", REPLY.to_owned()),
            ("CUSTOMER_TEXT", FIRST_TEXT.to_owned()),
        ],
    )
    .await;
    assert!(
        passed,
        "console/tests/agent.mjs failed (screenshot: /tmp/switchboard-console-failure.png)\n{output}"
    );

    // The customer received the reply on X.
    let delivered = env.texts_to(CUSTOMER, 4).await;
    assert!(
        delivered.iter().any(|t| t == REPLY),
        "the simulator received the agent's reply for {CUSTOMER}: {delivered:?}"
    );

    // And the host recorded what the agent did.
    let done = env.alice().interaction(&interaction_id).await;
    assert_eq!(done["state"], "ended", "{done}");
    assert_eq!(done["wrapups"][0]["code"], "resolved", "{done}");
    assert_eq!(done["wrapups"][0]["agent"], ALICE, "{done}");
    let reply: Vec<&Value> = done["messages"]
        .as_array()
        .expect("the interaction has messages")
        .iter()
        .filter(|m| m["author"] == "agent" && m["text"] == REPLY)
        .collect();
    assert_eq!(reply.len(), 1, "the reply was sent once: {done}");
    assert_eq!(reply[0]["agent"], ALICE, "{done}");
    assert_eq!(reply[0]["status"], "sent", "{done}");
}

const STAFF_CUSTOMER: &str = "om-console-staff";
const SUPERVISOR_TOKEN: &str = "e2e-sue-supervisor";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn agents_and_a_supervisor_work_together_in_the_browser_console() {
    let prerequisites = prerequisites();
    let env = TestEnv::start("console-staff", |c| {
        c.console_dir = Some(prerequisites.dist.clone());
        // 36 s, so the customer's earlier interaction is over before the one agents work.
        c.om_options
            .push("threading_window_hours = 0.01".into());
        c.add_agent("bob", 4, "");
        c.extra_toml.push_str(&format!(
            "\n[[supervisor]]\nid = \"sue\"\nname = \"Sue\"\ntoken = \"{SUPERVISOR_TOKEN}\"\nqueues = [\"billing\"]\n"
        ));
    })
    .await;

    // An earlier interaction of the customer, which the threading window then closes.
    env.send_open(STAFF_CUSTOMER, "Where is parcel 77-100?")
        .await;
    env.texts_to(STAFF_CUSTOMER, 2).await;
    tokio::time::sleep(std::time::Duration::from_secs(37)).await;

    // The customer asks about order 88-431 and chooses billing: the flow keeps `topic` and the
    // conversation waits in `billing`.
    // With it come a photo and an invoice.
    let mut first = env.open_message(STAFF_CUSTOMER, "Hi, I need help with order 88-431");
    let file = |media_type: &str, name: &str, mime: &str| OpenAttachment {
        media_type: media_type.into(),
        url: format!("https://partner.example/files/{name}"),
        mime: mime.into(),
        filename: name.into(),
    };
    first.attachments = vec![
        file("Image", "broken-box.jpg", "image/jpeg"),
        file("File", "invoice-88-431.pdf", "application/pdf"),
    ];
    let (status, body) = env
        .sim
        .send_open_message(OM_INTEGRATION, &first)
        .await
        .expect("posting the open message");
    assert_eq!(status, 200, "{body}");
    env.texts_to(STAFF_CUSTOMER, 4).await;
    env.send_open(STAFF_CUSTOMER, "billing").await;
    let id = env.alice().wait_queued_id("billing", STAFF_CUSTOMER).await;

    let (passed, output) = run_browser_script(
        &prerequisites,
        "staff.mjs",
        env.host.dir(),
        &[
            ("SWITCHBOARD_URL", env.host.base_url()),
            ("ALICE_TOKEN", ALICE_TOKEN.to_owned()),
            ("BOB_TOKEN", switchboard_tests::harness::agent_token("bob")),
            ("SUPERVISOR_TOKEN", SUPERVISOR_TOKEN.to_owned()),
            ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("CUSTOMER_ID", STAFF_CUSTOMER.to_owned()),
            ("SEARCH_TEXT", "88-431".to_owned()),
            ("EARLIER_TEXT", "Where is parcel 77-100?".to_owned()),
        ],
    )
    .await;
    assert!(
        passed,
        "console/tests/staff.mjs failed (screenshots: /tmp/switchboard-staff-*-failure.png)\n{output}"
    );

    // The customer received the reply with the file, which the platform can fetch.
    let delivered = env.wait_delivered_to(STAFF_CUSTOMER, 6).await;
    let with_file = delivered
        .iter()
        .find(|d| d.text.as_deref() == Some("Here is your return label."))
        .expect("the reply with the file");
    let url = with_file.body["content"][0]["attachment"]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", with_file.body));
    let path = &url[url.find("/media/").expect(url)..];
    let file = env.api.get(path, None).await;
    assert_eq!(file.status, 200);
    assert!(file.body.starts_with(b"\x89PNG"), "the PNG the agent chose");

    // Bob holds it now, with Alice's transfer and note on record.
    let record = env.agent("bob").interaction(&id).await;
    assert_eq!(record["agent"], "bob", "{record}");
    assert_eq!(record["transfers"][0]["from_agent"], ALICE, "{record}");
    assert_eq!(
        record["transfers"][0]["note"], "Wants the invoice corrected; label attached",
        "{record}"
    );
}
