//! `logging`: a plugin's log lines go into the host's log at the level it chose, tagged with
//! the plugin's name and whom the call serves (the integration for an adapter; the flow and
//! the conversation for a bot or data action), so an admin finds them beside the host's own.
//!
//! Three WIT interfaces import it (`switchboard:channel/logging` 0.2.0 and 0.1.0,
//! `switchboard:flow/logging` 0.1.0); each maps its level and calls [`log`].

use wasmtime::component::{HasSelf, Linker};

use super::super::bindings::{channel_v0_1, channel_v0_2, flow_v0_1};
use super::super::caller::Caller;
use super::super::state::PluginState;

/// A log line's level, whatever the interface it came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// Emits a tracing event at `$level` with the given fields and message.
macro_rules! event_at {
    ($level:expr, $($rest:tt)*) => {
        match $level {
            Level::Trace => tracing::trace!($($rest)*),
            Level::Debug => tracing::debug!($($rest)*),
            Level::Info => tracing::info!($($rest)*),
            Level::Warn => tracing::warn!($($rest)*),
            Level::Error => tracing::error!($($rest)*),
        }
    };
}

/// The one implementation of every `log` import.
fn log(state: &PluginState, level: Level, message: &str) {
    let plugin = &*state.plugin;
    match &state.caller {
        Caller::Integration(ctx) => {
            let integration = &ctx.integration_id;
            event_at!(level, plugin, integration, "{message}")
        }
        Caller::Flow(ctx) => {
            let flow = &ctx.flow;
            let conversation = &ctx.conversation_id;
            event_at!(level, plugin, flow, conversation, "{message}")
        }
    }
}

/// Links `switchboard:channel/logging` in every supported version.
pub(crate) fn link_channel(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    channel_v0_2::logging::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    channel_v0_1::logging::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

/// Links `switchboard:flow/logging`.
pub(crate) fn link_flow(linker: &mut Linker<PluginState>) -> anyhow::Result<()> {
    flow_v0_1::logging::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

impl channel_v0_2::logging::Host for PluginState {
    fn log(&mut self, level: channel_v0_2::logging::Level, message: String) {
        use channel_v0_2::logging::Level as L;
        let level = match level {
            L::Trace => Level::Trace,
            L::Debug => Level::Debug,
            L::Info => Level::Info,
            L::Warn => Level::Warn,
            L::Error => Level::Error,
        };
        log(self, level, &message)
    }
}

impl channel_v0_1::logging::Host for PluginState {
    fn log(&mut self, level: channel_v0_1::logging::Level, message: String) {
        use channel_v0_1::logging::Level as L;
        let level = match level {
            L::Trace => Level::Trace,
            L::Debug => Level::Debug,
            L::Info => Level::Info,
            L::Warn => Level::Warn,
            L::Error => Level::Error,
        };
        log(self, level, &message)
    }
}

impl flow_v0_1::logging::Host for PluginState {
    fn log(&mut self, level: flow_v0_1::logging::Level, message: String) {
        use flow_v0_1::logging::Level as L;
        let level = match level {
            L::Trace => Level::Trace,
            L::Debug => Level::Debug,
            L::Info => Level::Info,
            L::Warn => Level::Warn,
            L::Error => Level::Error,
        };
        log(self, level, &message)
    }
}
