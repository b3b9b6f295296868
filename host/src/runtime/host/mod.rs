//! The host side of the imports plugins get, one file per WIT interface, each written once for
//! every world and WIT version that imports it (older versions forward to the latest).
//!
//! Each capability has the same three parts, as in Spin's factors: `link*` adds its bindings
//! to a world's linker, the grant it applies was resolved at load (`grants.rs`), and its
//! per-call state sits in [`PluginState`](super::PluginState), built by the world's loader.
//!
//! - `logging`: into the host's log, tagged with the plugin and whom the call serves.
//! - `settings`: the channel `config` import, an integration's settings (adapters).
//! - `kv`: the plugin's private key-value store, behind [`PluginKv`](super::PluginKv) (flow
//!   plugins).
//! - `http`: outbound HTTP, only to the hosts the plugin's grant lists, through the gate in
//!   `http_gate.rs` (flow plugins).

pub(crate) mod http;
pub(crate) mod kv;
pub(crate) mod logging;
pub(crate) mod settings;
