//! Wake-ups between the stages: a webhook that stored events wakes the inbox worker, a flow
//! turn that queued replies wakes the sender, anything that may give routing work wakes the
//! router. Each worker also wakes on its own timer, so a lost wake-up only delays work.
//!
//! With several hosts on one store, the other hosts are woken too, through the store's signal
//! bus ([`Wakeups::connect`]), at most once per kind every few milliseconds.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use tokio::sync::{Notify, mpsc};

use crate::model::now_ms;
use crate::store::{Signal, WakeWork};

/// The least time between two remote wake-ups of one kind.
const REMOTE_EVERY_MS: i64 = 10;

/// The wake-ups the workers wait on.
#[derive(Default)]
pub struct Wakeups {
    /// New inbox events are stored.
    pub inbox: Notify,
    /// New outbound messages are stored, or a send finished.
    pub outbound: Notify,
    /// Routing may have something to do (a new interaction, a freed agent, a decline).
    pub route: Notify,
    remote: OnceLock<mpsc::UnboundedSender<Signal>>,
    last_remote: [AtomicI64; 3],
}

impl Wakeups {
    /// Also wakes the other hosts, through `remote` (the signal bus).
    pub fn connect(&self, remote: mpsc::UnboundedSender<Signal>) {
        let _ = self.remote.set(remote);
    }

    pub fn wake_inbox(&self) {
        self.inbox.notify_one();
        self.remote(WakeWork::Inbox);
    }

    pub fn wake_outbound(&self) {
        self.outbound.notify_one();
        self.remote(WakeWork::Outbound);
    }

    pub fn wake_route(&self) {
        self.route.notify_one();
        self.remote(WakeWork::Route);
    }

    /// A wake-up another host sent.
    pub fn woken(&self, work: WakeWork) {
        match work {
            WakeWork::Inbox => self.inbox.notify_one(),
            WakeWork::Outbound => self.outbound.notify_one(),
            WakeWork::Route => self.route.notify_one(),
        }
    }

    fn remote(&self, work: WakeWork) {
        let Some(remote) = self.remote.get() else {
            return;
        };
        let last = &self.last_remote[work as usize];
        let now = now_ms();
        let before = last.load(Ordering::Relaxed);
        if now - before < REMOTE_EVERY_MS
            || last
                .compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let _ = remote.send(Signal::Wake { work });
    }
}
