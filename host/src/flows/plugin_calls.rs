//! The bridge from the engine's plugin calls to the Wasm runtime: a bot turn or a data action
//! is performed with the loaded plugin, and plugin failures (trap, deadline, memory) become the
//! engine's error paths. Used by the conversations worker and by `switchboard flow test`.

use crate::engine::{ActionFailure, BotExit, BotTurn, PluginCall, PluginResult};
use crate::runtime::{self, ActionError, BotInput, FlowCallContext, FlowPlugin};

/// Performs one plugin call with `loaded` (the plugin the call names, if loaded). Returns the
/// engine's result and, when the plugin itself failed, the error.
pub async fn call_with(
    loaded: Option<&FlowPlugin>,
    ctx: &FlowCallContext,
    customer_id: &str,
    call: &PluginCall,
) -> (PluginResult, Option<runtime::PluginError>) {
    match call {
        PluginCall::Bot {
            plugin,
            text,
            quick_reply,
            session,
            variables,
        } => {
            let Some(loaded) = loaded else {
                return (
                    PluginResult::Bot(Err(format!("bot plugin `{plugin}` is not loaded"))),
                    None,
                );
            };
            let FlowPlugin::Bot(bot) = loaded else {
                return (
                    PluginResult::Bot(Err(format!("plugin `{plugin}` is not a bot"))),
                    None,
                );
            };
            let input = BotInput {
                conversation_id: ctx.conversation_id.clone(),
                customer_id: customer_id.to_string(),
                text: text.clone(),
                quick_reply: quick_reply.clone(),
                session: session.clone(),
                variables: variables.clone(),
            };
            let result = bot.turn(ctx, input).await;
            let error = result.as_ref().err().cloned();
            let result = PluginResult::Bot(match result {
                Ok(Ok(output)) => Ok(BotTurn {
                    replies: output
                        .replies
                        .into_iter()
                        .map(|r| (r.text, r.quick_replies))
                        .collect(),
                    intent: output.intent,
                    confidence: output.confidence,
                    slots: output.slots,
                    session: output.session,
                    exit: match output.exit {
                        runtime::BotExit::Continue => BotExit::Continue,
                        runtime::BotExit::Done => BotExit::Done,
                        runtime::BotExit::Handoff => BotExit::Handoff,
                        runtime::BotExit::Error(e) => BotExit::Error(e),
                    },
                }),
                Ok(Err(message)) => Err(message),
                Err(e) => Err(e.to_string()),
            });
            (result, error)
        }
        PluginCall::DataAction {
            plugin,
            action,
            input,
        } => {
            let Some(loaded) = loaded else {
                let failure =
                    ActionFailure::Failed(format!("data-action plugin `{plugin}` is not loaded"));
                return (PluginResult::DataAction(Err(failure)), None);
            };
            let FlowPlugin::DataAction(data_action) = loaded else {
                let failure =
                    ActionFailure::Failed(format!("plugin `{plugin}` is not a data action"));
                return (PluginResult::DataAction(Err(failure)), None);
            };
            let result = data_action.call(ctx, action, input.clone()).await;
            let error = result.as_ref().err().cloned();
            let result = PluginResult::DataAction(match result {
                Ok(Ok(outputs)) => Ok(outputs),
                Ok(Err(ActionError::NotFound(a))) => Err(ActionFailure::Failed(format!(
                    "plugin `{plugin}` has no action `{a}`"
                ))),
                Ok(Err(e)) => Err(ActionFailure::Failed(e.to_string())),
                Err(e) => Err(ActionFailure::Timeout(e.to_string())),
            });
            (result, error)
        }
    }
}
