//! `switchboard flow test FLOW.yaml --script CONVERSATION.yaml`: scripted conversations run
//! against the real engine with the real plugins, for flow authors' CI.
//!
//! A script says what the customer does, turn by turn, and what must happen:
//!
//! ```yaml
//! customer: { id: "42", name: Dana, handle: dana, verified: false, followers: 12 }
//! now: "2026-11-23T10:00:00Z"        # the clock for schedules (default: now)
//! kv:                                 # seeds for plugins' key-value stores
//!   directory:
//!     customer/dana: '{"name": "Dana Example", "tier": "gold"}'
//! turns:
//!   - say: Hi
//!     replies:
//!       - "Hi Dana, thanks for writing to us."   # exactly this text
//!       - contains: What can we help             # or a part of it
//!   - say: "1"                                    # or `quick_reply: billing`, or `timeout: true`
//!     transfer: { queue: billing, skills: [invoices], priority: 10 }
//! ```
//!
//! `then` (`waiting`, `transferred`, `disconnected`) checks how a turn ends; `transfer` implies
//! `transferred` and checks the fields it names; `replies` lists every message the turn sends,
//! in order.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::PluginsConfig;
use crate::engine::{
    self, Drive, Effect, Event, Flow, FlowState, Known, Outcome, PluginCall, PluginKind,
    PluginResult, TurnInput,
};
use crate::flows::call_with;
use crate::runtime::{
    FlowCallContext, FlowPlugin, FlowPluginKind, MemoryKv, PluginKv, PluginRuntime,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    customer: Option<Value>,
    #[serde(default = "default_integration")]
    integration: String,
    #[serde(default)]
    now: Option<String>,
    /// Queues that exist; default: every queue the flow names.
    #[serde(default)]
    queues: Option<Vec<String>>,
    #[serde(default)]
    kv: BTreeMap<String, BTreeMap<String, String>>,
    turns: Vec<ScriptTurn>,
}

fn default_integration() -> String {
    "flow-test".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptTurn {
    #[serde(default)]
    say: Option<String>,
    #[serde(default)]
    quick_reply: Option<String>,
    #[serde(default)]
    timeout: bool,
    /// The message kind: direct (default), mention, like, postback, reaction.
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    replies: Option<Vec<ExpectedReply>>,
    #[serde(default)]
    then: Option<String>,
    #[serde(default)]
    transfer: Option<ExpectedTransfer>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ExpectedReply {
    Exact(String),
    Contains { contains: String },
}

impl std::fmt::Display for ExpectedReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExpectedReply::Exact(text) => write!(f, "{text:?}"),
            ExpectedReply::Contains { contains } => write!(f, "a reply containing {contains:?}"),
        }
    }
}

/// What one script did, turn by turn: printed for people ([`Report::print`]) or as JSON
/// (`flow test --format json`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub flow: String,
    pub script: String,
    pub description: Option<String>,
    pub passed: bool,
    pub turns: Vec<TurnReport>,
}

/// One turn of a script.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TurnReport {
    /// 1-based.
    pub turn: usize,
    pub passed: bool,
    /// What did not match the script; empty when the turn passed.
    pub problems: Vec<String>,
    /// Every message the turn sent, in order.
    pub replies: Vec<String>,
    /// How the turn ended, in words (`waiting in `ask_topic``).
    pub ended: String,
    /// How the turn ended, as a word: `waiting`, `transferred`, `disconnected`, `failed`, or
    /// `not run` for a turn after the conversation left the flow.
    pub outcome: String,
}

impl Report {
    /// The report as `flow test` prints it: a line per turn, the problems and replies of a
    /// failed one, then `passed` or `FAILED`.
    pub fn print(&self) {
        println!(
            "{} with {}{}",
            self.flow,
            self.script,
            self.description
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        );
        for turn in &self.turns {
            if turn.passed {
                println!("  turn {}: ok ({})", turn.turn, turn.ended);
                continue;
            }
            println!("  turn {}: FAILED", turn.turn);
            for problem in &turn.problems {
                println!("    - {problem}");
            }
            if turn.outcome != "not run" {
                if turn.replies.is_empty() {
                    println!("    replies: none");
                } else {
                    println!("    replies:");
                    for (i, reply) in turn.replies.iter().enumerate() {
                        println!("      {}. {reply:?}", i + 1);
                    }
                }
                println!("    the turn ended: {}", turn.ended);
            }
        }
        println!("{}", if self.passed { "passed" } else { "FAILED" });
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedTransfer {
    queue: String,
    #[serde(default)]
    skills: Option<Vec<String>>,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    language: Option<String>,
}

/// The flows next to the one under test, for `transfer-flow`.
struct Folder {
    flows: HashMap<String, Arc<Flow>>,
}

impl engine::Flows for Folder {
    fn latest(&self, name: &str) -> Option<(i64, Arc<Flow>)> {
        self.flows.get(name).map(|f| (1, f.clone()))
    }
}

struct Plugins {
    loaded: HashMap<String, FlowPlugin>,
    ctx: FlowCallContext,
    customer_id: String,
}

impl engine::Plugins for Plugins {
    fn call<'a>(&'a self, call: &'a PluginCall) -> engine::driver::BoxFuture<'a, PluginResult> {
        Box::pin(async move {
            let name = match call {
                PluginCall::Bot { plugin, .. } | PluginCall::DataAction { plugin, .. } => plugin,
            };
            call_with(self.loaded.get(name), &self.ctx, &self.customer_id, call)
                .await
                .0
        })
    }
}

/// Runs the script and prints each turn's result. Returns whether every turn passed.
pub async fn run(flow_path: &Path, script_path: &Path, plugins_dir: &Path) -> anyhow::Result<bool> {
    let report = run_script(flow_path, script_path, plugins_dir).await?;
    report.print();
    Ok(report.passed)
}

/// Runs the script against the flow and says what happened in each turn.
pub async fn run_script(
    flow_path: &Path,
    script_path: &Path,
    plugins_dir: &Path,
) -> anyhow::Result<Report> {
    let source = std::fs::read_to_string(flow_path)
        .with_context(|| format!("cannot read {}", flow_path.display()))?;
    let flow = Arc::new(Flow::parse(&source, &Known::default()).map_err(|errors| {
        anyhow::anyhow!(
            "{} does not validate:\n{}",
            flow_path.display(),
            errors
                .iter()
                .map(|e| format!("  {e}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?);
    let script_text = std::fs::read_to_string(script_path)
        .with_context(|| format!("cannot read {}", script_path.display()))?;
    let script: Script = serde_yaml_ng::from_str(&script_text)
        .with_context(|| format!("invalid script {}", script_path.display()))?;

    // Sibling flows, for `transfer-flow`.
    let mut folder = Folder {
        flows: HashMap::new(),
    };
    if let Some(dir) = flow_path.parent() {
        for path in crate::flows::flow_files(dir)? {
            if let (Some(name), Ok(text)) = (
                path.file_stem().and_then(|s| s.to_str()),
                std::fs::read_to_string(&path),
            ) && let Ok(other) = Flow::parse(&text, &Known::default())
            {
                folder.flows.insert(name.to_string(), Arc::new(other));
            }
        }
    }

    // The plugins the flow and the flows it may move to call, with an in-memory store seeded
    // from the script. Test plugins get every HTTP host they ask for denied, as on a host
    // without grants.
    let cache_dir = std::env::temp_dir().join("switchboard-flow-test-cache");
    let runtime = PluginRuntime::new(&PluginsConfig {
        dir: plugins_dir.to_path_buf(),
        cache_dir,
        ..PluginsConfig::default()
    })?;
    let kv = Arc::new(MemoryKv::default());
    for (plugin, entries) in &script.kv {
        for (key, value) in entries {
            kv.set(plugin, key, value).await?;
        }
    }
    runtime.set_kv_store(kv);
    let mut wanted: BTreeMap<String, PluginKind> = flow.plugins();
    for other in folder.flows.values() {
        wanted.extend(other.plugins());
    }
    let mut loaded = HashMap::new();
    for (name, kind) in wanted {
        let path: PathBuf = plugins_dir.join(format!("{name}.wasm"));
        let grant = crate::config::PluginGrant::none(&name);
        let plugin = if path.exists() {
            runtime.load_flow_plugin_file(&path, grant).await
        } else if let Some(bytes) = crate::embedded::plugin(&name) {
            runtime.load_flow_plugin(&name, bytes.to_vec(), grant).await
        } else {
            bail!(
                "the flow calls plugin `{name}`, but {} does not exist and none is built into this binary (run `cargo xtask build-plugins`)",
                path.display()
            );
        }
        .with_context(|| format!("loading plugin `{name}`"))?;
        let actual = match plugin.kind() {
            FlowPluginKind::Bot => PluginKind::Bot,
            FlowPluginKind::DataAction => PluginKind::DataAction,
        };
        if actual != kind {
            bail!("the flow uses plugin `{name}` as a {kind:?}, but it is a {actual:?}");
        }
        loaded.insert(name, plugin);
    }

    // The customer as the host describes one: every field present, unknown ones null.
    let mut customer = json!({
        "id": "flow-test-customer", "name": null, "handle": null, "verified": null,
        "followers": null, "posts": null, "email": null,
    });
    if let (Some(Value::Object(given)), Some(fields)) = (&script.customer, customer.as_object_mut())
    {
        fields.extend(given.clone());
    }
    let customer_id = customer
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("flow-test-customer")
        .to_string();
    let plugins = Plugins {
        loaded,
        ctx: FlowCallContext {
            flow: flow_path.display().to_string(),
            conversation_id: "flow-test".into(),
        },
        customer_id,
    };
    let mut now_ms = match &script.now {
        Some(now) => now
            .parse::<jiff::Timestamp>()
            .with_context(|| format!("`now: {now}` is not an RFC 3339 time"))?
            .as_millisecond(),
        None => jiff::Timestamp::now().as_millisecond(),
    };
    let queues: Option<HashSet<String>> = script.queues.clone().map(|q| q.into_iter().collect());
    let queue_exists = move |q: &str| queues.as_ref().is_none_or(|set| set.contains(q));

    let mut report = Report {
        flow: flow_path.display().to_string(),
        script: script_path.display().to_string(),
        description: script.description.clone(),
        passed: true,
        turns: Vec::new(),
    };
    let mut current = flow;
    let mut state: Option<FlowState> = None;
    let mut finished = false;
    for (i, turn) in script.turns.iter().enumerate() {
        let n = i + 1;
        if finished {
            report.turns.push(TurnReport {
                turn: n,
                passed: false,
                problems: vec!["the conversation already left the flow".into()],
                replies: Vec::new(),
                ended: "not run".into(),
                outcome: "not run".into(),
            });
            report.passed = false;
            break;
        }
        let (event, message) = if turn.timeout {
            (Event::Timeout, json!({ "text": "", "kind": "timeout" }))
        } else {
            (
                Event::Message,
                json!({
                    "id": format!("m{n}"),
                    "text": turn.say.clone().unwrap_or_default(),
                    "quick_reply": turn.quick_reply,
                    "kind": turn.kind.as_deref().unwrap_or("direct"),
                }),
            )
        };
        let input = TurnInput {
            event,
            message,
            customer: customer.clone(),
            integration: &script.integration,
            conversation: "flow-test",
            now_ms,
            queue_exists: &queue_exists,
            schedules: &crate::engine::schedule::NoGroups,
        };
        let drive: Drive =
            engine::drive(current.clone(), state.take(), input, &plugins, &folder).await;
        if let Some((name, _)) = &drive.switched_to
            && let Some(next) = folder.flows.get(name)
        {
            current = next.clone();
        }
        let problems = check(turn, &drive);
        let replies: Vec<String> = drive
            .effects
            .iter()
            .map(|Effect::Send { text, .. }| text.clone())
            .collect();
        report.passed &= problems.is_empty();
        report.turns.push(TurnReport {
            turn: n,
            passed: problems.is_empty(),
            problems,
            replies,
            ended: describe(&drive.outcome),
            outcome: ended(&drive.outcome).to_string(),
        });
        finished = !matches!(drive.outcome, Outcome::Waiting { .. });
        state = Some(drive.state);
        now_ms += 1000;
    }
    Ok(report)
}

/// How a turn ended, as the word a script's `then` uses.
fn ended(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Waiting { .. } => "waiting",
        Outcome::Transferred { .. } => "transferred",
        Outcome::Disconnected => "disconnected",
        _ => "failed",
    }
}

/// A list for people: `orders, invoices`, or `none`.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Waiting { step, .. } => format!("waiting in `{step}`"),
        Outcome::Transferred {
            queue,
            priority,
            skills,
            ..
        } => {
            format!(
                "transferred to `{queue}` (priority {priority}, skills: {})",
                listed(skills)
            )
        }
        Outcome::Disconnected => "disconnected".into(),
        Outcome::Failed { step, error } => format!("failed in `{step}`: {error}"),
        Outcome::Call { step, .. } => format!("stopped at `{step}` waiting for a plugin"),
        Outcome::TransferFlow { flow } => format!("moved to flow `{flow}`"),
    }
}

fn check(turn: &ScriptTurn, drive: &Drive) -> Vec<String> {
    let mut problems = Vec::new();
    let texts: Vec<&str> = drive
        .effects
        .iter()
        .map(|Effect::Send { text, .. }| text.as_str())
        .collect();
    if let Some(expected) = &turn.replies {
        if expected.len() != texts.len() {
            problems.push(format!(
                "expected {} replies, got {}",
                expected.len(),
                texts.len()
            ));
        }
        for (i, (want, got)) in expected.iter().zip(&texts).enumerate() {
            let ok = match want {
                ExpectedReply::Exact(text) => text == got,
                ExpectedReply::Contains { contains } => got.contains(contains.as_str()),
            };
            if !ok {
                problems.push(format!("reply {}: expected {want}, got {got:?}", i + 1));
            }
        }
    }
    let ended = ended(&drive.outcome);
    let want_end = turn
        .then
        .as_deref()
        .or(turn.transfer.as_ref().map(|_| "transferred"));
    if let Some(want) = want_end
        && want != ended
    {
        problems.push(format!("expected the turn to end {want}, it ended {ended}"));
    }
    if let (
        Some(want),
        Outcome::Transferred {
            queue,
            priority,
            skills,
            language,
            ..
        },
    ) = (&turn.transfer, &drive.outcome)
    {
        if &want.queue != queue {
            problems.push(format!("expected queue `{}`, got `{queue}`", want.queue));
        }
        if let Some(s) = &want.skills
            && s != skills
        {
            problems.push(format!(
                "expected skills {}, got {}",
                listed(s),
                listed(skills)
            ));
        }
        if let Some(p) = want.priority
            && p != *priority
        {
            problems.push(format!("expected priority {p}, got {priority}"));
        }
        if want.language.is_some() && &want.language != language {
            problems.push(format!(
                "expected language {}, got {}",
                want.language.as_deref().unwrap_or("none"),
                language.as_deref().unwrap_or("none")
            ));
        }
    }
    if let Outcome::Failed { step, error } = &drive.outcome
        && want_end != Some("failed")
    {
        problems.push(format!("the flow failed in `{step}`: {error}"));
    }
    problems
}
