//! One folder per family of worlds the host runs: what it is to link and load a component of
//! that world, call its exports in a fresh sandboxed instance, and turn the WIT values into the
//! host's own types, so the rest of the host never depends on a WIT version.
//!
//! - `channel/`: channel adapters, `switchboard:channel/adapter` 0.2.0 and 0.1.0 (one adapter
//!   type over both versions; `convert.rs` holds the conversions they share).
//! - `flow/`: bots and data actions, the two `switchboard:flow` 0.1.0 worlds, and what they
//!   share (their linker, grant, per-call state).
//!
//! Which world a component implements is decided before, from its exports (`detect.rs`); every
//! world runs on what the runtime shares (`shared.rs`), never on the runtime itself.

pub(crate) mod channel;
pub(crate) mod flow;
