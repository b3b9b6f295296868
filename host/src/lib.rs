//! Switchboard: a self-hosted runtime for contact-center inbound message flows.
//!
//! The path of a message, and the module that owns each step:
//! `server` (HTTP) → `runtime` (the Wasm adapter decodes the webhook) → `store` (durable before
//! the 2xx) → `conversations` (threading, the flow run) → `engine` (the flow interpreter) →
//! `acd` (queues and agents) → `outbound` (the adapter encodes, the host sends).
//! `app` holds what they share.

pub mod acd;
pub mod app;
pub mod config;
pub mod conversations;
pub mod engine;
pub mod events;
pub mod flow_plugins;
pub mod flowtest;
pub mod metrics;
pub mod outbound;
pub mod runtime;
pub mod server;
pub mod store;
