//! Flow plugins (`switchboard:flow@0.1.0`): bots and data actions, which a flow calls.
//!
//! - `plugin.rs`: the [`FlowPlugin`] the host holds, of either world, and loading one with its
//!   grant.
//! - `common.rs`: what the two worlds share: their linker (`logging`, `kv`, `http`) and each
//!   plugin's core, which builds every call's sandbox with its kv namespace and HTTP grant.
//! - `bot.rs`: world `bot-plugin`, one call per customer turn; `data_action.rs`: world
//!   `data-action-plugin`, named actions with text fields in and out.

mod bot;
mod common;
mod data_action;
mod plugin;

pub use bot::{BotExit, BotInput, BotOutput, BotPlugin, BotReply};
pub(crate) use common::linker;
pub use data_action::{ActionError, ActionInfo, DataActionPlugin};
pub(crate) use plugin::load;
pub use plugin::{FlowPlugin, FlowPluginKind};
