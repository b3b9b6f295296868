//! The host side of flow plugin calls: the engine asks for a bot turn or a data action through
//! [`engine::Plugins`]; this performs it with the Wasm runtime, records metrics, and maps
//! plugin failures (trap, deadline, memory) to the engine's error paths.

use std::sync::Arc;
use std::time::Instant;

use crate::app::App;
use crate::engine::{self, ActionFailure, BotExit, BotTurn, PluginCall, PluginResult};
use crate::runtime::{self, ActionError, BotInput, FlowCallContext, FlowPlugin};
use crate::store::Conversation;

/// Performs a conversation's plugin calls.
pub struct HostPlugins {
    app: Arc<App>,
    ctx: FlowCallContext,
    customer_id: String,
}

impl HostPlugins {
    pub fn new(app: Arc<App>, conversation: &Conversation) -> HostPlugins {
        HostPlugins {
            app,
            ctx: FlowCallContext {
                flow: conversation.flow.clone().unwrap_or_default(),
                conversation_id: conversation.id.clone(),
            },
            customer_id: conversation.customer_id.clone(),
        }
    }
}

impl engine::Plugins for HostPlugins {
    fn call<'a>(&'a self, call: &'a PluginCall) -> engine::driver::BoxFuture<'a, PluginResult> {
        Box::pin(call_plugin(&self.app, &self.ctx, &self.customer_id, call))
    }
}

/// Performs one plugin call for the engine, recording metrics.
pub async fn call_plugin(
    app: &App,
    ctx: &FlowCallContext,
    customer_id: &str,
    call: &PluginCall,
) -> PluginResult {
    let name = match call {
        PluginCall::Bot { plugin, .. } | PluginCall::DataAction { plugin, .. } => plugin,
    };
    let started = Instant::now();
    let loaded = app.flow_plugin(name);
    let (result, error) = call_with(loaded.as_deref(), ctx, customer_id, call).await;
    let function = if matches!(call, PluginCall::Bot { .. }) {
        "turn"
    } else {
        "call"
    };
    record(app, name, function, started, error.as_ref());
    result
}

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

fn record(
    app: &App,
    plugin: &str,
    function: &str,
    started: Instant,
    error: Option<&runtime::PluginError>,
) {
    let kind = error.map(|e| e.kind().map_or("load", |k| k.as_str()));
    app.metrics
        .plugin_call(plugin, function, started.elapsed().as_micros() as u64, kind);
    if let Some(e) = error {
        tracing::error!("{e}");
    }
}
