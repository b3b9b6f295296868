//! Whom a plugin call serves. The caller hands it to every call; the instance keeps it in its
//! state ([`PluginState`](super::PluginState)), where the `logging` import tags each line with it
//! and the channel `config` import reads the integration's settings from it.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Who a call serves: the integration and its settings.
#[derive(Debug, Clone)]
pub struct CallContext {
    pub integration_id: String,
    pub settings: Arc<BTreeMap<String, String>>,
}

/// Who a flow-plugin call serves, for the plugin's log lines.
#[derive(Debug, Clone, Default)]
pub struct FlowCallContext {
    /// The flow making the call.
    pub flow: String,
    /// The conversation the call is about ("" when none).
    pub conversation_id: String,
}

/// Whom a call serves: its log lines say so, and an adapter reads its integration's settings.
pub(crate) enum Caller {
    /// A channel adapter working for an integration.
    Integration(CallContext),
    /// A bot or data action called by a flow.
    Flow(FlowCallContext),
}
