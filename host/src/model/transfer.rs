//! Transfers: an agent hands an interaction they hold to a queue, or to another agent (through
//! one of that agent's queues), with a note for whoever takes it. Routing offers it anew.

use serde::Serialize;

/// One transfer of an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The agent who held it and handed it over.
    pub from_agent: String,
    /// The queue it waits in now.
    pub to_queue: String,
    /// The agent it was transferred to, who alone is offered it while they are available and
    /// have not refused it.
    pub to_agent: Option<String>,
    /// What the transferring agent wrote for the next one.
    pub note: Option<String>,
    pub at: i64,
}
