//! The interpreter's inputs and outputs: what a conversation's flow remembers between turns,
//! what starts a turn, the plugin calls it asks for and their results, and how it ends.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::engine::schedule::ScheduleGroups;
use crate::events::QuickReply;

/// What a conversation's flow remembers between turns; stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FlowState {
    /// The `ask` or `bot` step waiting for the customer, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_at: Option<String>,
    /// Answers that did not fit the waiting `ask` so far.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
    /// The session data the bot of the waiting `bot` step returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_session: Option<String>,
    /// The step waiting for a plugin's result, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<String>,
    /// The flow's variables (participant data).
    #[serde(default)]
    pub vars: Map<String, Value>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What started this turn.
#[derive(Debug, Clone)]
pub enum Event {
    /// The customer's message (in [`TurnInput::message`]).
    Message,
    /// The waiting `ask` timed out.
    Timeout,
    /// The result of the plugin call the previous turn asked for.
    PluginResult(PluginResult),
}

/// What the engine knows when a turn runs.
#[derive(Clone)]
pub struct TurnInput<'a> {
    pub event: Event,
    /// `message` in expressions: `text`, `quick_reply`, `kind`, `attachments`.
    pub message: Value,
    /// `customer` in expressions: `id`, `name`, `handle`, `verified`, `followers`, ...
    pub customer: Value,
    pub integration: &'a str,
    pub conversation: &'a str,
    /// Milliseconds since the epoch (`schedule`, timeouts).
    pub now_ms: i64,
    /// Whether a queue exists right now (a transfer to a missing one takes its `failure` path).
    pub queue_exists: &'a (dyn Fn(&str) -> bool + Sync),
    /// The named schedule groups `schedule` steps may use, as admins switched them.
    pub schedules: &'a dyn ScheduleGroups,
}

/// A plugin call the caller performs before the next turn.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginCall {
    Bot {
        plugin: String,
        text: Option<String>,
        quick_reply: Option<String>,
        /// What the bot returned last time ("" at first).
        session: String,
        variables: Map<String, Value>,
    },
    DataAction {
        plugin: String,
        action: String,
        input: Map<String, Value>,
    },
}

/// The result of a [`PluginCall`].
#[derive(Debug, Clone, PartialEq)]
pub enum PluginResult {
    Bot(Result<BotTurn, String>),
    DataAction(Result<Map<String, Value>, ActionFailure>),
}

/// One bot turn's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BotTurn {
    pub replies: Vec<(String, Vec<QuickReply>)>,
    pub intent: Option<String>,
    pub confidence: Option<f32>,
    pub slots: Map<String, Value>,
    pub session: String,
    pub exit: BotExit,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum BotExit {
    /// The bot wants the customer's next message.
    #[default]
    Continue,
    Done,
    Handoff,
    Error(String),
}

/// Why a data action gave no outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionFailure {
    /// The action ran and reported a failure.
    Failed(String),
    /// The plugin ran past its deadline, trapped or could not be reached.
    Timeout(String),
}

/// Something the turn asks the host to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Send {
        text: String,
        quick_replies: Vec<QuickReply>,
    },
}

/// How the turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A step waits for the customer's next message (until `timeout_at`, if set).
    Waiting {
        step: String,
        timeout_at: Option<i64>,
    },
    /// The caller performs `call` and runs the next turn with its result.
    Call { step: String, call: PluginCall },
    /// The conversation goes to an ACD queue; the flow is done with it.
    Transferred {
        queue: String,
        priority: i64,
        skills: Vec<String>,
        language: Option<String>,
        preferred_agents: Vec<String>,
    },
    /// Continue in another flow (its latest version), with the same variables.
    TransferFlow { flow: String },
    /// The flow ended the conversation.
    Disconnected,
    /// A step failed with no error handler to go to (or the handler failed too).
    Failed { step: String, error: String },
}

/// The result of one turn.
#[derive(Debug, Clone)]
pub struct Turn {
    pub effects: Vec<Effect>,
    pub outcome: Outcome,
    pub state: FlowState,
    pub steps_run: u32,
}
