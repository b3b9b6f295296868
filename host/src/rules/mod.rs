//! The decisions of a contact center as pure functions: which conversation a message joins
//! (`threading`), whether a message may go out and how (`outbound`), when a failed send is tried again
//! (`outbound_retry`), how fast an integration may send (`pacing`), which agent gets which
//! waiting interaction (`routing`), whether an agent may take one (`accept`), and what a quiet
//! customer's conversation does next (`inactivity`).
//!
//! No I/O, no clock, no store: the callers feed them what they read (a snapshot, a row) and the
//! time, so each rule is tested in milliseconds, and the SQLite and PostgreSQL engines apply the
//! very same rules inside their transactions.

pub mod accept;
pub mod inactivity;
pub mod outbound;
#[cfg(test)]
mod outbound_model;
pub mod outbound_retry;
pub mod pacing;
pub mod routing;
#[cfg(test)]
mod routing_model;
pub mod threading;
#[cfg(test)]
mod threading_model;
