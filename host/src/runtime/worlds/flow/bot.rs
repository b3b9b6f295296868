//! Bots (`switchboard:flow/bot-plugin@0.1.0`): one call per customer turn. The flow hands the
//! bot the customer's input, the session it returned last time and the flow's variables; the
//! bot answers with replies, an intent and slots, and says how the conversation goes on.

use serde_json::{Map, Value};
use wasmtime::component::InstancePre;

use super::super::super::bindings::flow_v0_1::{bot as bindings, types as wt};
use super::super::super::caller::FlowCallContext;
use super::super::super::error::PluginError;
use super::super::super::state::PluginState;
use super::common::{Core, fields_to_map};
use crate::events::QuickReply;

/// A customer's turn, as a flow hands it to a bot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BotInput {
    pub conversation_id: String,
    pub customer_id: String,
    pub text: Option<String>,
    pub quick_reply: Option<String>,
    /// What the bot returned as `session` on the previous turn; "" at first.
    pub session: String,
    /// The flow's variables.
    pub variables: Map<String, Value>,
}

/// One message a bot sends.
#[derive(Debug, Clone, PartialEq)]
pub struct BotReply {
    pub text: String,
    pub quick_replies: Vec<QuickReply>,
}

/// How the conversation goes on after a bot's turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BotExit {
    /// The bot waits for the customer's next message.
    Continue,
    /// The bot is done; the flow goes on with its intent and slots.
    Done,
    /// The customer wants a human.
    Handoff,
    /// The bot cannot go on.
    Error(String),
}

/// A bot's answer to a turn.
#[derive(Debug, Clone, PartialEq)]
pub struct BotOutput {
    pub replies: Vec<BotReply>,
    pub intent: Option<String>,
    /// Between 0 and 1 (the host clamps it; a NaN becomes `None`).
    pub confidence: Option<f32>,
    /// Every value is a JSON string.
    pub slots: Map<String, Value>,
    pub session: String,
    pub exit: BotExit,
}

/// A loaded bot (`switchboard:flow/bot`).
pub struct BotPlugin {
    pub(crate) core: Core,
    pre: bindings::BotPluginPre<PluginState>,
}

impl BotPlugin {
    pub(crate) fn new(
        core: Core,
        instance_pre: InstancePre<PluginState>,
    ) -> Result<BotPlugin, PluginError> {
        let pre = bindings::BotPluginPre::new(instance_pre).map_err(|e| {
            PluginError::load(&core.name, format!("it does not match world `bot`: {e:#}"))
        })?;
        Ok(BotPlugin { core, pre })
    }

    pub fn name(&self) -> &str {
        &self.core.name
    }

    pub fn wit_version(&self) -> &str {
        &self.core.wit_version
    }

    /// One customer turn. The outer error is the plugin failing (trap, deadline, memory); the
    /// inner one is the bot's own `Err`.
    pub async fn turn(
        &self,
        ctx: &FlowCallContext,
        input: BotInput,
    ) -> Result<Result<BotOutput, String>, PluginError> {
        const FUNCTION: &str = "turn";
        let mut store = self.core.store(ctx);
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        let input = wt::BotInput {
            conversation_id: input.conversation_id,
            customer_id: input.customer_id,
            text: input.text,
            quick_reply: input.quick_reply,
            session: input.session,
            variables: Value::Object(input.variables).to_string(),
        };
        let result = instance
            .switchboard_flow_bot()
            .call_turn(&mut store, &input)
            .await
            .map_err(|e| self.core.error(FUNCTION, e, &store))?;
        Ok(result.map(bot_output))
    }
}

fn bot_output(o: wt::BotOutput) -> BotOutput {
    BotOutput {
        replies: o
            .replies
            .into_iter()
            .map(|r| BotReply {
                text: r.text,
                quick_replies: r
                    .quick_replies
                    .into_iter()
                    .map(|q| QuickReply {
                        label: q.label,
                        payload: q.payload,
                    })
                    .collect(),
            })
            .collect(),
        intent: o.intent.filter(|i| !i.is_empty()),
        confidence: o
            .confidence
            .filter(|c| !c.is_nan())
            .map(|c| c.clamp(0.0, 1.0)),
        slots: fields_to_map(o.slots),
        session: o.session,
        exit: match o.exit {
            wt::ExitReason::Continue => BotExit::Continue,
            wt::ExitReason::Done => BotExit::Done,
            wt::ExitReason::Handoff => BotExit::Handoff,
            wt::ExitReason::Error(m) => BotExit::Error(m),
        },
    }
}
