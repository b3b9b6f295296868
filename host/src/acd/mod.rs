//! The ACD: what agents do (`agents.rs`: presence, queues, accept, decline, replies, typing,
//! wrap-up, transcripts), routing waiting interactions to agents (`router.rs`, a worker over
//! [`crate::rules::routing`]), the inactivity timer (`inactivity.rs`), and the content filter
//! agents' replies must pass (`filters.rs`).

mod agents;
mod error;
pub mod filters;
mod inactivity;
mod router;

pub use agents::{Acd, AgentInteractions, Reply};
pub use error::AcdError;
pub use inactivity::InactivityTimer;
pub use router::Router;
