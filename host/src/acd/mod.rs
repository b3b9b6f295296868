//! The ACD: what agents do (`agents.rs`: presence, queues, accept, decline, replies, typing,
//! wrap-up, transcripts; `transfer.rs`; `attachments.rs`: files they send; `history.rs`: a
//! customer's earlier interactions and search), what supervisors see (`supervision.rs`),
//! routing waiting interactions to agents (`router.rs`, a worker over
//! [`crate::rules::routing`]), the inactivity timer (`inactivity.rs`), agents and supervisors admins add at run time
//! (`roster.rs`), and the content filter
//! agents' replies must pass (`filters.rs`).

mod agents;
mod attachments;
mod error;
pub mod filters;
mod history;
mod inactivity;
mod roster;
mod router;
mod supervision;
mod transfer;

pub use agents::{Acd, AgentInteractions, OfferedInteraction, Reply};
pub use attachments::{Upload, kind_of};
pub use error::AcdError;
pub use history::Record;
pub use inactivity::InactivityTimer;
pub use roster::{AccountBody, Roster, account_json};
pub use router::Router;
pub use supervision::{AgentOverview, Overview, QueueOverview, Supervision, start_of_day};
pub use transfer::TransferTo;
