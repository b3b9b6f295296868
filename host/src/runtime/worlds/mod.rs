//! One module per world the host runs: what it is to load a component of that world, call its
//! exports in a fresh sandboxed instance, and turn the WIT values into the host's own types, so
//! the rest of the host never depends on a WIT version.
//!
//! - `channel/`: channel adapters, `switchboard:channel/adapter` 0.2.0 and 0.1.0 (one adapter
//!   type over both versions; `convert.rs` holds the conversions they share).
//! - `flow`: what bots and data actions share (their linker, grant, per-call state); `bot` and
//!   `data_action`: the two `switchboard:flow` 0.1.0 worlds.
//!
//! Which world a component implements is decided before, from its exports (`detect.rs`).

pub(crate) mod bot;
pub(crate) mod channel;
pub(crate) mod data_action;
pub(crate) mod flow;
