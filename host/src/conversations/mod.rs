//! From stored inbox events to conversations: the inbox worker (`worker.rs`) hands events to
//! shards by customer; a turn (`turn.rs`) threads a message, runs the flow, and stores what it
//! did; receipts, read markers and `ask` timeouts take the same path. `plugins.rs` performs the
//! flow's plugin calls with metrics.

mod plugins;
mod turn;
mod worker;

pub use worker::Inbox;
