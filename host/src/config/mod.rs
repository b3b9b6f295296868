//! The host's configuration: what `switchboard.toml` says, read and checked once at start.
//!
//! - `file.rs`: the file's sections and their defaults, and the checks across them.
//! - `store.rs`: `[store]`, SQLite or PostgreSQL.
//! - `supervisors.rs`: who may watch queues and agents live (`[[supervisor]]`).
//! - `grants.rs`: what one plugin is granted (`[[plugin]]`) and the syntax of its `http_hosts`,
//!   which the runtime applies when it loads the plugin.
//! - `schedules.rs`: named schedules and schedule groups (`[[schedule]]`, `[[schedule_group]]`).
//! - `retention.rs`: how long processed webhook events and ended interactions' messages are
//!   kept (`[retention]`).
//! - `starter.rs`: the commented configuration `switchboard init` writes.
//! - `credentials.rs`: agents' and supervisors' tokens as salted Argon2 hashes.
//! - `secrets.rs`: values taken from the environment (`"${NAME}"`) or files (`NAME_file`).
//!
//! Nothing here imports the rest of the host: the configuration is read before anything runs.

pub mod credentials;
mod file;
mod grants;
mod retention;
mod schedules;
mod secrets;
mod send_limit;
mod server;
mod starter;
mod store;
mod supervisors;

pub use file::{
    AgentConfig, Config, FlowsConfig, InactivityConfig, IntegrationConfig, IntegrationSize,
    OutboundConfig, PluginsConfig, QueueConfig, check_integrations, is_plugin_name,
};
pub(crate) use grants::HostRule;
pub use grants::{PluginGrant, check_http_host};
pub use retention::RetentionConfig;
pub use schedules::{ScheduleConfig, ScheduleGroupConfig};
pub use send_limit::SendLimit;
pub use server::ServerConfig;
pub use starter::STARTER;
pub use store::{SecretKey, StoreConfig, SyncMode};
pub use supervisors::SupervisorConfig;
