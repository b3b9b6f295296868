//! The one harness of the end-to-end tests (`tests/tests/<area>/`).
//!
//! A test starts a [`TestEnv`]: a [`PlatformSim`](crate::sim::PlatformSim) playing the platforms
//! and the customers, the real `switchboard serve` ([`HostProcess`]) on a temporary config
//! ([`TestConfig`]) and database, an HTTP client for its routes ([`Api`]) and fresh ids. Each test
//! starts its own, on free ports, so tests run concurrently.
//!
//! - customers write through [`TestEnv`] (`send_dm`, `send_open`) and what reached them is read
//!   back from the simulator (`wait_delivered_to`, `texts_to`);
//! - agents act through an [`Agent`] (`env.alice()`, `env.agent("bob")`): presence, queues,
//!   offers, accept, reply, wrap-up, transcripts;
//! - live event streams are read with an [`EventStream`] (opened with a [`stream_ticket`]);
//! - admins and operators read `/metrics` ([`metric`]) and the admin API through [`TestEnv`].
//!
//! Every wait is an [`eventually`] on what a user would see, with a deadline ([`WAIT`]), never a
//! sleep: the tests must hold on a loaded two-core machine.

mod agent;
mod api;
mod cluster;
mod components;
mod config;
mod env;
mod events;
mod paths;
mod process;
mod wait;

pub use self::agent::{Agent, outbound_all_sent, transcript};
pub use self::api::{Api, Response, assert_error, metric};
pub use self::cluster::Cluster;
pub use self::components::{as_new_version, with_custom_section};
pub use self::config::{
    ADMIN_TOKEN, ALICE, ALICE_TOKEN, ExtraIntegration, OM_INTEGRATION, OM_PATH, OM_SECRET,
    TestConfig, X_ACCESS_TOKEN, X_ACCOUNT_ID, X_CONSUMER_SECRET, X_INTEGRATION, agent_token,
    flows_with_test_flows, invalid_flow, settings, sim_config, support_flow,
};
pub use self::env::{Setup, TestEnv, texts};
pub use self::events::{EventStream, stream_ticket};
pub use self::paths::{TempDir, free_port, host_binary, plugins_dir, workspace_dir};
pub use self::process::{HostProcess, run_cli, succeeded};
pub use self::wait::{WAIT, eventually, eventually_eq};
