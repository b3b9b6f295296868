//! The flow model: a flow is a YAML file with a `start` step and a map of named steps, each
//! with a `type`. This file holds the types a parsed flow is made of and what can be asked of
//! them (where a step leads, which plugins a flow calls).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

use super::super::slots;
use crate::events::QuickReply;

/// A Switchboard flow: what happens to a customer's messages before an agent takes over.
/// `start` names the first step; `steps` maps step names to steps.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(deny_unknown_fields, title = "Switchboard flow")]
pub struct Flow {
    /// What the flow is for (shown in listings).
    #[schemars(default)]
    pub description: Option<String>,
    /// The first step of every new conversation.
    pub start: String,
    /// The step a run jumps to when a step fails (`error.message` holds the reason).
    #[schemars(default)]
    pub on_error: Option<String>,
    /// The steps, by name.
    pub steps: BTreeMap<String, Step>,
}

/// One step. `next` names the step that follows.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Send a message (text with `{{variable}}` templates, optional quick replies).
    Send {
        /// The message; `{{path}}` or `{{path | "fallback"}}` insert variables.
        text: String,
        /// Buttons: a text (label and payload alike) or `{label, payload}`.
        #[serde(default)]
        quick_replies: Vec<QuickReplySpec>,
        /// The step that follows.
        next: String,
    },
    /// Ask a question and collect the answer into `variable`, checked against `expect`.
    Ask(Box<Ask>),
    /// Hand the conversation to a bot plugin, turn by turn, until it exits.
    Bot {
        /// A loaded bot plugin (its component's file name without `.wasm`).
        plugin: String,
        /// Where the bot's result (`intent`, `confidence`, `slots`) is stored; default `bot`.
        #[serde(default = "default_bot_result")]
        result: String,
        /// The bot answered and is done.
        next: String,
        /// The bot (or the customer) asks for a human.
        #[serde(default)]
        handoff: Option<String>,
        /// The bot failed or ran past its deadline; without it, the flow's error handler.
        #[serde(default)]
        error: Option<String>,
    },
    /// Call a data-action plugin; its outputs land in `result`.
    DataAction {
        /// A loaded data-action plugin.
        plugin: String,
        /// The action's name.
        action: String,
        /// Inputs, each a CEL expression.
        #[serde(default)]
        input: BTreeMap<String, String>,
        /// The variable the outputs are stored in; default: the action's name with `_` for `-`.
        #[serde(default)]
        result: Option<String>,
        /// The step after a successful call.
        next: String,
        /// The action reported a failure.
        #[serde(default)]
        failure: Option<String>,
        /// The plugin ran past its deadline (or trapped); without it, `failure`.
        #[serde(default)]
        timeout: Option<String>,
    },
    /// Find the customer by their channel handle, through a data action (the `directory`
    /// plugin's `lookup-customer` by default); the record lands in `contact`.
    Identify {
        /// The data-action plugin that looks customers up.
        #[serde(default = "default_directory")]
        plugin: String,
        /// Its action.
        #[serde(default = "default_lookup")]
        action: String,
        /// What to look up by (CEL); default: the handle, or the platform id without one.
        #[serde(default)]
        by: Option<String>,
        /// Where to go when the customer is found (`contact.name`, `contact.tier`, ...).
        found: String,
        /// Where to go otherwise.
        not_found: String,
    },
    /// Go to `then` if the CEL `condition` is true, else to `else`.
    Decision {
        /// A CEL condition that gives true or false.
        condition: String,
        /// Where to go when it is true.
        then: String,
        /// Where to go when it is false.
        #[serde(rename = "else")]
        otherwise: String,
    },
    /// The first case whose CEL `when` is true, else `default`.
    Switch {
        /// Tried in order.
        cases: Vec<Case>,
        /// Where to go when no case is true.
        default: String,
    },
    /// Set participant data from CEL expressions (kept through transfers, shown to agents).
    SetData {
        /// Variable name → CEL expression; every expression sees the variables as they were
        /// before the step.
        set: BTreeMap<String, String>,
        /// The step that follows.
        next: String,
    },
    /// Open, closed, holiday or emergency, from a schedule group or weekly hours.
    Schedule(Box<Schedule>),
    /// Hand the conversation to an ACD queue; the flow ends here.
    Transfer {
        /// A configured queue id.
        queue: String,
        /// Higher is served first (a point is worth about a minute of waiting).
        #[serde(default)]
        priority: i64,
        /// Skills the agent needs.
        #[serde(default)]
        skills: Vec<String>,
        /// A language the agent needs, e.g. `de`.
        #[serde(default)]
        language: Option<String>,
        /// Agents offered the conversation first.
        #[serde(default)]
        preferred_agents: Vec<String>,
        /// An optional message sent before the transfer.
        #[serde(default)]
        text: Option<String>,
        /// Where to go if the queue does not exist.
        #[serde(default)]
        failure: Option<String>,
    },
    /// Continue in another flow (its latest version) with the same variables.
    TransferFlow {
        /// The flow to continue in.
        flow: String,
    },
    /// End the conversation, optionally with a last message.
    Disconnect {
        /// A last message (template).
        #[serde(default)]
        text: Option<String>,
    },
}

/// `ask`: a question, a slot type, reprompts and a no-input timeout.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    /// The question (template).
    pub text: String,
    /// Where the answer goes: a letter or `_`, then letters, digits, `_`.
    pub variable: String,
    /// The slot type: text (default), number, email, phone, date, choice, regex.
    #[serde(default)]
    pub expect: slots::SlotType,
    /// For `expect: regex`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// Buttons (needed for `expect: choice`).
    #[serde(default)]
    pub quick_replies: Vec<QuickReplySpec>,
    /// Sent when an answer does not fit; default: a generic line plus the question.
    #[serde(default)]
    pub reprompt: Option<String>,
    /// How many times to reprompt before taking `no_match`.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// The step after a fitting answer.
    pub next: String,
    /// After the last reprompt fails; without it, the flow's error handler.
    #[serde(default)]
    pub no_match: Option<String>,
    /// Minutes to wait for an answer before taking `no_input` (fractions allowed: 0.5 is 30 s).
    #[serde(default)]
    pub timeout_minutes: Option<f64>,
    /// Where to go when the customer stays silent for `timeout_minutes`.
    #[serde(default)]
    pub no_input: Option<String>,
}

/// `schedule`: open, closed, holiday or emergency, from a named schedule group of the
/// configuration (`group`) or from weekly hours written in the step (`timezone`, `hours`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// A schedule group of the host's configuration (`[[schedule_group]]`), whose holidays and
    /// emergency admins switch without a restart. Instead of `timezone` and `hours`.
    #[serde(default)]
    pub group: Option<String>,
    /// An IANA time zone, e.g. `Europe/Berlin` (with `hours`).
    #[serde(default)]
    pub timezone: Option<String>,
    /// Opening hours per weekday (`mon` ... `sun`), e.g. `"09:00-17:00"` or `"09:00-12:00, 13:00-17:00"`.
    #[serde(default)]
    pub hours: Option<BTreeMap<String, String>>,
    /// Dates (`YYYY-MM-DD`) that are closed all day (with `hours`).
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Where to go when open.
    pub open: String,
    /// Where to go when closed.
    pub closed: String,
    /// Where to go on a holiday; without it, `closed`.
    #[serde(default)]
    pub holiday: Option<String>,
    /// Where to go during an emergency of the group; without it, `closed`.
    #[serde(default)]
    pub emergency: Option<String>,
}

/// One case of a `switch`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A CEL condition.
    pub when: String,
    /// Where to go when it is true.
    pub next: String,
}

fn default_bot_result() -> String {
    "bot".into()
}
fn default_directory() -> String {
    "directory".into()
}
fn default_lookup() -> String {
    "lookup-customer".into()
}
fn default_retries() -> u32 {
    2
}

/// A quick reply: a plain string (label and payload alike) or `{label, payload}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum QuickReplySpec {
    /// The label, also sent back as the payload.
    Label(String),
    /// A label shown and a payload sent back when it is tapped.
    Full {
        /// What the button says.
        label: String,
        /// What comes back when it is tapped.
        payload: String,
    },
}

impl QuickReplySpec {
    pub fn to_quick_reply(&self) -> QuickReply {
        match self {
            QuickReplySpec::Label(l) => QuickReply {
                label: l.clone(),
                payload: l.clone(),
            },
            QuickReplySpec::Full { label, payload } => QuickReply {
                label: label.clone(),
                payload: payload.clone(),
            },
        }
    }
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Send { .. } => "send",
            Step::Ask(_) => "ask",
            Step::Bot { .. } => "bot",
            Step::DataAction { .. } => "data-action",
            Step::Identify { .. } => "identify",
            Step::Decision { .. } => "decision",
            Step::Switch { .. } => "switch",
            Step::SetData { .. } => "set-data",
            Step::Schedule(_) => "schedule",
            Step::Transfer { .. } => "transfer",
            Step::TransferFlow { .. } => "transfer-flow",
            Step::Disconnect { .. } => "disconnect",
        }
    }

    /// The steps this one can lead to, each with the label of the path (the field naming it).
    pub fn targets(&self) -> Vec<(String, &str)> {
        fn one<'s>(label: &str, t: &'s str) -> (String, &'s str) {
            (label.to_string(), t)
        }
        fn opt<'s>(out: &mut Vec<(String, &'s str)>, label: &str, t: &'s Option<String>) {
            if let Some(t) = t {
                out.push((label.to_string(), t.as_str()));
            }
        }
        let mut out = Vec::new();
        match self {
            Step::Send { next, .. } | Step::SetData { next, .. } => out.push(one("next", next)),
            Step::Ask(ask) => {
                out.push(one("next", &ask.next));
                opt(&mut out, "no_match", &ask.no_match);
                opt(&mut out, "no_input", &ask.no_input);
            }
            Step::Bot {
                next,
                handoff,
                error,
                ..
            } => {
                out.push(one("next", next));
                opt(&mut out, "handoff", handoff);
                opt(&mut out, "error", error);
            }
            Step::DataAction {
                next,
                failure,
                timeout,
                ..
            } => {
                out.push(one("next", next));
                opt(&mut out, "failure", failure);
                opt(&mut out, "timeout", timeout);
            }
            Step::Identify {
                found, not_found, ..
            } => {
                out.push(one("found", found));
                out.push(one("not_found", not_found));
            }
            Step::Decision {
                then, otherwise, ..
            } => {
                out.push(one("then", then));
                out.push(one("else", otherwise));
            }
            Step::Switch { cases, default } => {
                for case in cases {
                    out.push((format!("when {}", case.when), case.next.as_str()));
                }
                out.push(one("default", default));
            }
            Step::Schedule(s) => {
                out.push(one("open", &s.open));
                out.push(one("closed", &s.closed));
                opt(&mut out, "holiday", &s.holiday);
                opt(&mut out, "emergency", &s.emergency);
            }
            Step::Transfer { failure, .. } => opt(&mut out, "failure", failure),
            Step::TransferFlow { .. } | Step::Disconnect { .. } => {}
        }
        out
    }
}

/// The kinds of flow plugins a flow can call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginKind {
    Bot,
    DataAction,
}

impl Flow {
    /// The flow plugins this flow calls, with their kinds.
    pub fn plugins(&self) -> BTreeMap<String, PluginKind> {
        let mut out = BTreeMap::new();
        for step in self.steps.values() {
            match step {
                Step::Bot { plugin, .. } => {
                    out.insert(plugin.clone(), PluginKind::Bot);
                }
                Step::DataAction { plugin, .. } | Step::Identify { plugin, .. } => {
                    out.insert(plugin.clone(), PluginKind::DataAction);
                }
                _ => {}
            }
        }
        out
    }
}
