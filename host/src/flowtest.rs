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

/// Runs the script; prints each turn's result. Returns whether every turn passed.
pub async fn run(flow_path: &Path, script_path: &Path, plugins_dir: &Path) -> anyhow::Result<bool> {
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
        if !path.exists() {
            bail!(
                "the flow calls plugin `{name}`, but {} does not exist (run `cargo xtask build-plugins`)",
                path.display()
            );
        }
        let plugin = runtime
            .load_flow_plugin_file(&path, crate::config::PluginGrant::none(&name))
            .await
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

    println!(
        "{} with {}{}",
        flow_path.display(),
        script_path.display(),
        script
            .description
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default()
    );
    let mut current = flow;
    let mut state: Option<FlowState> = None;
    let mut finished = false;
    let mut all_passed = true;
    for (i, turn) in script.turns.iter().enumerate() {
        let n = i + 1;
        if finished {
            println!("  turn {n}: FAILED: the conversation already left the flow");
            all_passed = false;
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
        };
        let drive: Drive =
            engine::drive(current.clone(), state.take(), input, &plugins, &folder).await;
        if let Some((name, _)) = &drive.switched_to
            && let Some(next) = folder.flows.get(name)
        {
            current = next.clone();
        }
        let problems = check(turn, &drive);
        let texts: Vec<String> = drive
            .effects
            .iter()
            .map(|Effect::Send { text, .. }| text.clone())
            .collect();
        if problems.is_empty() {
            println!("  turn {n}: ok ({})", describe(&drive.outcome));
        } else {
            all_passed = false;
            println!("  turn {n}: FAILED");
            for problem in problems {
                println!("    - {problem}");
            }
            println!("    replies were: {texts:?}");
            println!("    the turn ended: {}", describe(&drive.outcome));
        }
        finished = !matches!(drive.outcome, Outcome::Waiting { .. });
        state = Some(drive.state);
        now_ms += 1000;
    }
    println!("{}", if all_passed { "passed" } else { "FAILED" });
    Ok(all_passed)
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
            format!("transferred to `{queue}` (priority {priority}, skills {skills:?})")
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
                problems.push(format!("reply {}: expected {want:?}, got {got:?}", i + 1));
            }
        }
    }
    let ended = match &drive.outcome {
        Outcome::Waiting { .. } => "waiting",
        Outcome::Transferred { .. } => "transferred",
        Outcome::Disconnected => "disconnected",
        _ => "failed",
    };
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
            problems.push(format!("expected skills {s:?}, got {skills:?}"));
        }
        if let Some(p) = want.priority
            && p != *priority
        {
            problems.push(format!("expected priority {p}, got {priority}"));
        }
        if want.language.is_some() && &want.language != language {
            problems.push(format!(
                "expected language {:?}, got {language:?}",
                want.language
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
