//! The flow-plugin suite: a bot or a data action, as the host loads it, declares what it is,
//! answers its profile's fixtures as expected, refuses bad input with a result or a typed error
//! (never a trap), and stays within the host's limits.
//!
//! ```toml
//! kind = "bot"                    # or "data-action"
//! [kv]                            # optional: seeded into the plugin's key-value store
//! "faq/returns" = "Returns are free within 60 days."
//! [[conversations]]               # a bot: each a conversation, the session carried over
//! name = "order status"
//! turns = [
//!   { text = "where is my order?", exit = "continue", intent = "order_status" },
//!   { text = "it is 42-123", exit = "done", slots = { order_number = "42-123" }, reply = "42-123" },
//! ]
//! [backend]                       # a data action: canned answers served on loopback
//! "/orders/12-345" = { status = 200, body = '{"status":"shipped"}' }
//! [[calls]]                       # `{backend}` in an input is the backend's base URL
//! action = "order-status"
//! input = { order_id = "12-345", base_url = "{backend}" }
//! output = { found = "true", status = "shipped" }   # or: error = "invalid_input"
//! ```

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::backend::Canned;
use super::profiles::ProfileFile;
use super::report::Report;
use crate::runtime::{
    ActionError, BotInput, BotOutput, CallErrorKind, FlowCallContext, FlowPlugin, FlowPluginKind,
    PluginError, PluginRuntime,
};

/// What a flow-plugin profile says the plugin is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Bot,
    DataAction,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bot => "bot",
            Kind::DataAction => "data action",
        }
    }
}

/// How the host calls a kind of flow plugin.
pub fn kind_name(kind: FlowPluginKind) -> &'static str {
    match kind {
        FlowPluginKind::Bot => Kind::Bot.as_str(),
        FlowPluginKind::DataAction => Kind::DataAction.as_str(),
    }
}

/// A flow-plugin profile (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub kind: Kind,
    #[serde(default)]
    pub kv: BTreeMap<String, String>,
    #[serde(default)]
    pub conversations: Vec<Conversation>,
    #[serde(default)]
    pub backend: BTreeMap<String, Canned>,
    #[serde(default)]
    pub calls: Vec<Call>,
}

/// A scripted conversation with a bot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conversation {
    pub name: String,
    pub turns: Vec<Turn>,
}

/// One customer turn and what the bot must answer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    pub text: Option<String>,
    pub quick_reply: Option<String>,
    /// `continue`, `done`, `handoff` or `error` (an `error` exit or an `Err`).
    pub exit: String,
    /// The intent it names ("" for none); unchecked when absent.
    pub intent: Option<String>,
    /// Text one of its replies contains.
    pub reply: Option<String>,
    /// Slots it must give, with their values.
    #[serde(default)]
    pub slots: BTreeMap<String, String>,
    /// Whether it offers quick replies; unchecked when absent.
    pub quick_replies: Option<bool>,
}

/// One data-action call and what it must give.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Call {
    pub action: String,
    #[serde(default)]
    pub input: BTreeMap<String, String>,
    /// Outputs it must give, with their values.
    #[serde(default)]
    pub output: BTreeMap<String, String>,
    /// The typed error it must give instead: `not_found`, `invalid_input` or `failed`.
    pub error: Option<String>,
}

impl Profile {
    pub fn read(file: &ProfileFile) -> anyhow::Result<Profile> {
        toml::from_str(&file.text).with_context(|| format!("in {}", file.path.display()))
    }
}

/// Counts the calls and the ones that broke a limit.
#[derive(Default)]
struct Limits {
    calls: usize,
    broken: Vec<String>,
}

impl Limits {
    /// Notes a call's outcome; `Some(error text)` when the plugin failed.
    fn note<T>(&mut self, what: &str, result: &Result<T, PluginError>) -> Option<String> {
        self.calls += 1;
        let e = result.as_ref().err()?;
        if matches!(
            e.kind(),
            Some(CallErrorKind::Timeout | CallErrorKind::MemoryLimit | CallErrorKind::OutputLimit)
        ) {
            self.broken.push(format!("{what}: {e}"));
        }
        Some(e.to_string())
    }
}

fn ctx(conversation: &str) -> FlowCallContext {
    FlowCallContext {
        flow: "plugin-check".into(),
        conversation_id: conversation.into(),
    }
}

/// Runs the suite on `plugin`; `backend` is the base URL of the profile's backend.
pub(super) async fn run(
    runtime: &PluginRuntime,
    plugin: &FlowPlugin,
    profile: &Profile,
    backend: Option<&str>,
    report: &mut Report,
) -> anyhow::Result<()> {
    let is = kind_name(plugin.kind());
    report.check(
        is == profile.kind.as_str(),
        format!(
            "loads as the host loads it: a {is} (switchboard:flow@{}); the profile expects a {}",
            plugin.wit_version(),
            profile.kind.as_str()
        ),
    );
    let kv = runtime.kv_store();
    for (key, value) in &profile.kv {
        kv.set(plugin.name(), key, value)
            .await
            .with_context(|| format!("cannot seed kv key {key}"))?;
    }
    let mut limits = Limits::default();
    if let Some(bot) = plugin.as_bot() {
        bot_checks(bot, profile, &mut limits, report).await;
    }
    if let Some(action) = plugin.as_data_action() {
        action_checks(action, profile, backend, &mut limits, report).await;
    }
    let limit = plugin.limits();
    report.check(
        limits.broken.is_empty(),
        format!(
            "{} calls within the host's limits (deadline {} ms, memory {} MiB){}",
            limits.calls,
            limit.deadline.as_millis(),
            limit.memory_bytes >> 20,
            if limits.broken.is_empty() {
                String::new()
            } else {
                format!(": {}", limits.broken.join("; "))
            }
        ),
    );
    Ok(())
}

fn exit_name(out: &BotOutput) -> &'static str {
    match out.exit {
        crate::runtime::BotExit::Continue => "continue",
        crate::runtime::BotExit::Done => "done",
        crate::runtime::BotExit::Handoff => "handoff",
        crate::runtime::BotExit::Error(_) => "error",
    }
}

/// What a turn's output breaks of the contract itself: an empty reply, a confidence outside
/// 0..=1.
fn malformed(out: &BotOutput) -> Option<String> {
    if let Some(c) = out.confidence.filter(|c| !(0.0..=1.0).contains(c)) {
        return Some(format!("confidence {c} is outside 0..=1"));
    }
    out.replies
        .iter()
        .any(|r| r.text.trim().is_empty() && r.quick_replies.is_empty())
        .then(|| "a reply has neither text nor quick replies".into())
}

/// Compares one turn's answer with what the profile expects; the mismatches.
fn mismatches(turn: &Turn, out: &BotOutput) -> Vec<String> {
    let mut wrong = Vec::new();
    if exit_name(out) != turn.exit {
        wrong.push(format!("exit {} (expected {})", exit_name(out), turn.exit));
    }
    if let Some(intent) = &turn.intent {
        let got = out.intent.as_deref().unwrap_or("");
        if got != intent {
            wrong.push(format!("intent {got:?} (expected {intent:?})"));
        }
    }
    if let Some(text) = &turn.reply
        && !out.replies.iter().any(|r| r.text.contains(text.as_str()))
    {
        let said: Vec<&str> = out.replies.iter().map(|r| r.text.as_str()).collect();
        wrong.push(format!(
            "replies {said:?} (expected one containing {text:?})"
        ));
    }
    for (slot, value) in &turn.slots {
        let got = out.slots.get(slot).and_then(Value::as_str);
        if got != Some(value.as_str()) {
            wrong.push(format!("slot {slot} = {got:?} (expected {value:?})"));
        }
    }
    if let Some(expected) = turn.quick_replies {
        let offered = out.replies.iter().any(|r| !r.quick_replies.is_empty());
        if offered != expected {
            wrong.push(format!(
                "quick replies offered: {offered} (expected {expected})"
            ));
        }
    }
    wrong.extend(malformed(out));
    wrong
}

async fn bot_checks(
    bot: &crate::runtime::BotPlugin,
    profile: &Profile,
    limits: &mut Limits,
    report: &mut Report,
) {
    report.check(
        !profile.conversations.is_empty(),
        format!(
            "the profile scripts {} conversation(s)",
            profile.conversations.len()
        ),
    );
    let input =
        |conversation: &str, text: Option<&str>, quick: Option<&str>, session: &str| BotInput {
            conversation_id: conversation.into(),
            customer_id: "customer-check-1".into(),
            text: text.map(str::to_owned),
            quick_reply: quick.map(str::to_owned),
            session: session.into(),
            variables: Map::new(),
        };
    for (n, conversation) in profile.conversations.iter().enumerate() {
        let id = format!("check-conversation-{n}");
        let mut session = String::new();
        for (t, turn) in conversation.turns.iter().enumerate() {
            let said = turn
                .text
                .as_deref()
                .map(|s| format!("{s:?}"))
                .or_else(|| {
                    turn.quick_reply
                        .as_ref()
                        .map(|q| format!("quick reply {q:?}"))
                })
                .unwrap_or_else(|| "nothing".into());
            let what = format!("{}, turn {} ({said})", conversation.name, t + 1);
            let result = bot
                .turn(
                    &ctx(&id),
                    input(
                        &id,
                        turn.text.as_deref(),
                        turn.quick_reply.as_deref(),
                        &session,
                    ),
                )
                .await;
            if let Some(e) = limits.note(&what, &result) {
                report.check(false, format!("{what}: failed as a plugin: {e}"));
                break;
            }
            match result {
                Ok(Ok(out)) => {
                    let wrong = mismatches(turn, &out);
                    report.check(
                        wrong.is_empty(),
                        match wrong.is_empty() {
                            true => format!(
                                "{what}: {} with intent {:?}",
                                exit_name(&out),
                                out.intent.as_deref().unwrap_or("")
                            ),
                            false => format!("{what}: {}", wrong.join(", ")),
                        },
                    );
                    session = out.session;
                }
                Ok(Err(message)) => report.check(
                    turn.exit == "error",
                    format!("{what}: an error ({message}); expected {}", turn.exit),
                ),
                Err(_) => {}
            }
        }
    }
    let long = "please ".repeat(64 * 1024 / 7);
    let odd = "\u{0}\u{1b}[31m \u{202e} ✓ 🙂 \u{fffd}";
    let robustness: [(&str, Option<&str>, Option<&str>, &str); 6] = [
        ("neither text nor a quick reply", None, None, ""),
        (
            "a session that is not JSON",
            Some("hello"),
            None,
            "not json {",
        ),
        ("a session of another shape", Some("hello"), None, "[1,2,3]"),
        ("a 64 KiB message", Some(&long), None, ""),
        ("control characters and emoji", Some(odd), None, ""),
        ("an unknown quick reply", None, Some("no-such-payload"), ""),
    ];
    for (what, text, quick, session) in robustness {
        let result = bot
            .turn(&ctx("check-odd"), input("check-odd", text, quick, session))
            .await;
        let failed = limits.note(what, &result);
        let malformed = match &result {
            Ok(Ok(out)) => malformed(out),
            _ => None,
        };
        report.check(
            failed.is_none() && malformed.is_none(),
            format!(
                "a turn with {what} is answered or refused as an error, never a trap{}",
                failed
                    .or(malformed)
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        );
    }
}

fn error_code(e: &ActionError) -> &'static str {
    match e {
        ActionError::NotFound(_) => "not_found",
        ActionError::InvalidInput(_) => "invalid_input",
        ActionError::Failed(_) => "failed",
    }
}

async fn action_checks(
    action: &crate::runtime::DataActionPlugin,
    profile: &Profile,
    backend: Option<&str>,
    limits: &mut Limits,
    report: &mut Report,
) {
    let described = action.describe(&ctx("")).await;
    if let Some(e) = limits.note("describe()", &described) {
        report.check(false, format!("describe() failed as a plugin: {e}"));
        return;
    }
    let actions = described.unwrap_or_default();
    let mut names: Vec<&str> = actions.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    let unique = names.windows(2).all(|w| w[0] != w[1]);
    report.check(
        !names.is_empty() && unique && names.iter().all(|n| !n.trim().is_empty()),
        format!(
            "describe(): {} action(s), named and unique: {}",
            names.len(),
            names.join(", ")
        ),
    );
    let untested: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !profile.calls.iter().any(|c| c.action == *n))
        .collect();
    report.check(
        untested.is_empty(),
        match untested.is_empty() {
            true => format!(
                "every action has a fixture call ({} calls)",
                profile.calls.len()
            ),
            false => format!("actions without a fixture call: {}", untested.join(", ")),
        },
    );
    for call in &profile.calls {
        let input: Map<String, Value> = call
            .input
            .iter()
            .map(|(k, v)| {
                let v = v.replace("{backend}", backend.unwrap_or("http://127.0.0.1:9"));
                (k.clone(), Value::String(v))
            })
            .collect();
        let what = format!(
            "{}({})",
            call.action,
            call.input
                .iter()
                .map(|(k, v)| format!("{k}={v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let result = action.call(&ctx(""), &call.action, input).await;
        if let Some(e) = limits.note(&what, &result) {
            report.check(false, format!("{what}: failed as a plugin: {e}"));
            continue;
        }
        let declared = actions.iter().find(|a| a.name == call.action);
        let (ok, said) = match (result, &call.error) {
            (Ok(Ok(out)), None) => {
                let mut wrong: Vec<String> = call
                    .output
                    .iter()
                    .filter(|(k, v)| out.get(*k).and_then(Value::as_str) != Some(v.as_str()))
                    .map(|(k, v)| format!("{k} = {:?} (expected {v:?})", out.get(k)))
                    .collect();
                if let Some(info) = declared {
                    wrong.extend(
                        out.keys()
                            .filter(|k| !info.outputs.contains(k))
                            .map(|k| format!("output {k} is not declared by describe()")),
                    );
                }
                match wrong.is_empty() {
                    true => (true, format!("gives {} output(s)", out.len())),
                    false => (false, wrong.join(", ")),
                }
            }
            (Ok(Ok(_)), Some(code)) => (false, format!("gave outputs; expected error {code}")),
            (Ok(Err(e)), expected) => (
                expected.as_deref() == Some(error_code(&e)),
                format!(
                    "error {} ({e}){}",
                    error_code(&e),
                    expected
                        .as_ref()
                        .map_or(" where outputs were expected".to_string(), |c| format!(
                            "; expected {c}"
                        ))
                ),
            ),
            (Err(_), _) => continue,
        };
        report.check(ok, format!("{what}: {said}"));
    }
    // Bad input: a typed error (or outputs), never a trap.
    let result = action
        .call(&ctx(""), "no-such-action-check", Map::new())
        .await;
    let failed = limits.note("an unknown action", &result);
    report.check(
        matches!(result, Ok(Err(ActionError::NotFound(_)))),
        format!(
            "an unknown action is refused as not_found{}",
            failed.map(|e| format!(": {e}")).unwrap_or_default()
        ),
    );
    let long = "x".repeat(64 * 1024);
    for info in &actions {
        let hostile = |value: &str| -> Map<String, Value> {
            info.inputs
                .iter()
                .map(|k| (k.clone(), Value::String(value.into())))
                .collect()
        };
        for (what, input) in [
            ("no input", Map::new()),
            ("64 KiB inputs", hostile(&long)),
            (
                "inputs of path and control characters",
                hostile("../\u{0}\"'<>%00\u{1b}"),
            ),
        ] {
            let result = action.call(&ctx(""), &info.name, input).await;
            let failed = limits.note(what, &result);
            report.check(
                failed.is_none(),
                format!(
                    "{}: {what} gives outputs or a typed error, never a trap{}",
                    info.name,
                    failed.map(|e| format!(": {e}")).unwrap_or_default()
                ),
            );
        }
    }
}
