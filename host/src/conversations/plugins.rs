//! The host side of flow plugin calls: the engine asks for a bot turn or a data action through
//! [`engine::Plugins`]; this performs it with the loaded plugin (see
//! [`crate::flows::call_with`]) and records metrics.

use std::sync::Arc;
use std::time::Instant;

use crate::catalog::PluginCatalog;
use crate::engine::{self, PluginCall, PluginResult};
use crate::flows::call_with;
use crate::metrics::Metrics;
use crate::model::Conversation;
use crate::runtime::{self, FlowCallContext};

/// Performs a conversation's plugin calls.
pub struct HostPlugins {
    catalog: Arc<PluginCatalog>,
    metrics: Arc<Metrics>,
    ctx: FlowCallContext,
    customer_id: String,
}

impl HostPlugins {
    pub fn new(
        catalog: Arc<PluginCatalog>,
        metrics: Arc<Metrics>,
        conversation: &Conversation,
    ) -> HostPlugins {
        HostPlugins {
            catalog,
            metrics,
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
        Box::pin(call_plugin(
            &self.catalog,
            &self.metrics,
            &self.ctx,
            &self.customer_id,
            call,
        ))
    }
}

/// Performs one plugin call for the engine, recording metrics.
async fn call_plugin(
    catalog: &PluginCatalog,
    metrics: &Metrics,
    ctx: &FlowCallContext,
    customer_id: &str,
    call: &PluginCall,
) -> PluginResult {
    let name = match call {
        PluginCall::Bot { plugin, .. } | PluginCall::DataAction { plugin, .. } => plugin,
    };
    let started = Instant::now();
    let loaded = catalog.flow_plugin(name);
    let (result, error) = call_with(loaded.as_deref(), ctx, customer_id, call).await;
    let function = if matches!(call, PluginCall::Bot { .. }) {
        "turn"
    } else {
        "call"
    };
    record(metrics, name, function, started, error.as_ref());
    result
}

fn record(
    metrics: &Metrics,
    plugin: &str,
    function: &str,
    started: Instant,
    error: Option<&runtime::PluginError>,
) {
    let kind = error.map(|e| e.kind().map_or("load", |k| k.as_str()));
    metrics.plugin_call(plugin, function, started.elapsed().as_micros() as u64, kind);
    if let Some(e) = error {
        tracing::error!("{e}");
    }
}
