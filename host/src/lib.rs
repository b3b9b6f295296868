//! Switchboard: a self-hosted runtime for contact-center inbound message flows.
//!
//! The path of a message, and the module that owns each step (ARCHITECTURE.md at the
//! repository root draws it): `server` (HTTP) → `intake` (the adapter decodes the webhook;
//! events are stored before the 2xx) → `conversations` (the inbox worker: threading, the flow
//! run through `engine` and `flows`) → `acd` (queues, routing, agents) → `outbound` (the sender:
//! the adapter encodes, the host sends). Below them: `integrations` and `catalog` (adapters and
//! plugins), `deploy` (hot loading), `runtime` (Wasm), `store` (durable state behind one
//! interface), `rules` (the decisions, as pure functions) and `model` (the data); `embedded`
//! holds the plugins and console a release binary carries. `host` wires them together.

pub mod acd;
pub mod catalog;
pub mod config;
pub mod conversations;
pub mod deploy;
pub mod directory;
pub mod embedded;
pub mod engine;
pub mod events;
pub mod flows;
pub mod flowtest;
pub mod gauges;
pub mod host;
pub mod intake;
pub mod integrations;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod outbound;
pub mod plugin_check;
pub mod retention;
pub mod rules;
pub mod runtime;
pub mod schedules;
pub mod server;
pub mod store;
pub mod wake;
