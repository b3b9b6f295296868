//! The host's configuration: what `switchboard.toml` says, read and checked once at start.
//!
//! - `file.rs`: the file's sections and their defaults, and the checks across them.
//! - `store.rs`: `[store]`, SQLite or PostgreSQL.
//! - `supervisors.rs`: who may watch queues and agents live (`[[supervisor]]`).
//! - `grants.rs`: what one plugin is granted (`[[plugin]]`) and the syntax of its `http_hosts`,
//!   which the runtime applies when it loads the plugin.
//!
//! Nothing here imports the rest of the host: the configuration is read before anything runs.

mod file;
mod grants;
mod store;
mod supervisors;

pub use file::{
    AgentConfig, Config, FlowsConfig, InactivityConfig, IntegrationConfig, IntegrationSize,
    OutboundConfig, PluginsConfig, QueueConfig, ServerConfig, check_integrations,
};
pub(crate) use grants::HostRule;
pub use grants::{PluginGrant, check_http_host};
pub use store::{StoreConfig, SyncMode};
pub use supervisors::SupervisorConfig;
