//! Wake-ups between the stages: a webhook that stored events wakes the inbox worker, a flow
//! turn that queued replies wakes the sender, anything that may give routing work wakes the
//! router. Each worker also wakes on its own timer, so a lost wake-up only delays work.

use tokio::sync::Notify;

/// The wake-ups the workers wait on.
#[derive(Default)]
pub struct Wakeups {
    /// New inbox events are stored.
    pub inbox: Notify,
    /// New outbound messages are stored, or a send finished.
    pub outbound: Notify,
    /// Routing may have something to do (a new interaction, a freed agent, a decline).
    pub route: Notify,
}
