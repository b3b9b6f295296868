//! The Wasm side of the host: one wasmtime engine, plugin loading, the sandbox, the limits.
//!
//! Every plugin call gets a fresh instance in a fresh store (about 11 µs with the pooling
//! allocator), so a plugin that traps, loops or leaks cannot affect the next call. Each call has
//! a deadline (epoch interruption, ticked by a background thread) and a memory limit; the WASI
//! context has nothing preopened, no environment, no sockets and no stdio.
//!
//! Organised by capability, as in wasmtime's and Spin's hosts (each file imports only files
//! listed before it, `worlds/` and `host/` aside):
//! - `limits.rs`: what every call runs under; `engine.rs`: the engine, its pool, the epoch
//!   ticker; compilation through `cache.rs`.
//! - `manifest.rs`: what a plugin asks for; `grants.rs`: the limits and HTTP hosts granted per
//!   plugin (their syntax is the configuration's, `config/grants.rs`), checked against it.
//! - the plugins' key-value store ([`PluginKv`]) is the store's (`store/plugin_kv.rs`); `http_gate.rs`: the HTTP client
//!   that performs plugins' requests to granted hosts only.
//! - `caller.rs`: whom a call serves; `state.rs`: one call's sandbox and capability state.
//! - `bindings.rs`: the generated code of every WIT version, independent of the host's state.
//! - `host/`: the imports, one file per interface (logging, settings, kv, http), each written
//!   once for every world and version that imports it.
//! - `shared.rs`: what every plugin shares (engine, linkers, kv store, HTTP gate).
//! - `worlds/`: one folder per world family (channel adapters 0.2.0 and 0.1.0; bots and data
//!   actions): linking, loading, calls and conversions to the host's types.
//! - `detect.rs`: which world and WIT version a component implements, read from its exports;
//!   [`PluginRuntime::load`] (`plugin_runtime.rs`) picks the world from it.
//! - `inspect.rs`: `switchboard plugin inspect`.
//!
//! Compiled components are cached on disk by content hash and engine settings, so a restart
//! (or a test run) does not compile the same component again.

mod bindings;
mod cache;
mod caller;
mod detect;
mod engine;
mod error;
mod grants;
mod host;
mod http_gate;
mod inspect;
mod limits;
mod manifest;
mod plugin_runtime;
mod shared;
mod state;
mod worlds;

pub use crate::config::check_http_host;
pub use crate::events::{AdapterInfo, Capabilities, TextUnit};
pub use crate::store::plugin_kv::{
    KvStore, MAX_KEY_BYTES, MAX_VALUE_BYTES, MemoryKv, PluginKv, check_kv_entry,
};
pub use caller::{CallContext, FlowCallContext};
pub use detect::{SUPPORTED_CHANNEL_VERSIONS, SUPPORTED_FLOW_VERSIONS};
pub use error::{AdapterError, CallErrorKind, PluginError};
pub use inspect::{Outline, outline};
pub use limits::Limits;
pub use manifest::Manifest;
pub use plugin_runtime::{Loaded, PluginRuntime};
pub use state::PluginState;
pub use worlds::channel::{AdapterPlugin, HttpRequest, Send, WebhookOutcome, WebhookRequest};
pub use worlds::flow::{
    ActionError, ActionInfo, BotExit, BotInput, BotOutput, BotPlugin, BotReply, DataActionPlugin,
    FlowPlugin, FlowPluginKind,
};
