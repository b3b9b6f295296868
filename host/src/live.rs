//! Live events for agents (server-sent events): offers, accepted interactions, customer
//! messages, delivery statuses, disconnects. Nothing here is durable: an agent's console
//! refetches what it shows when its stream (re)connects.
//!
//! With several hosts on one store, an agent's stream may be on another host than the one an
//! event happens on: events then go through the store's signal bus ([`AgentEvents::connect`]),
//! in order, and every host delivers them to the streams it holds.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use crate::store::Signal;

/// One event for one agent.
#[derive(Debug, Clone)]
pub struct AgentEvent {
    pub name: String,
    pub data: Value,
}

/// A channel per agent; agents with no open event stream simply miss nothing durable (the
/// console refetches what it shows on connect).
#[derive(Default)]
pub struct AgentEvents {
    senders: Mutex<HashMap<String, broadcast::Sender<AgentEvent>>>,
    /// Where events go to reach every host (unset: this host only).
    remote: OnceLock<mpsc::UnboundedSender<Signal>>,
    /// Set when the host stops: every stream has ended and new ones end at once.
    closed: AtomicBool,
}

impl AgentEvents {
    /// Sends events through `remote` (the signal bus, in order) instead of straight to this
    /// host's streams; the bus brings them back with [`AgentEvents::deliver`].
    pub fn connect(&self, remote: mpsc::UnboundedSender<Signal>) {
        let _ = self.remote.set(remote);
    }

    /// Tells `agent` (on whichever host holds their stream) that `name` happened.
    pub fn publish(&self, agent: &str, name: &str, data: Value) {
        if let Some(remote) = self.remote.get() {
            let signal = Signal::Agent {
                agent: agent.to_string(),
                name: name.to_string(),
                data,
            };
            if remote.send(signal).is_ok() {
                return;
            }
            return;
        }
        self.deliver(agent, name, data);
    }

    /// Hands an event to the streams of `agent` this host holds.
    pub fn deliver(&self, agent: &str, name: &str, data: Value) {
        let senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = senders.get(agent) {
            let _ = sender.send(AgentEvent {
                name: name.to_string(),
                data,
            });
        }
    }

    /// Tells the agent holding a conversation (if any) that something changed in it.
    pub fn notify_holder(&self, agent: Option<&str>, name: &str, data: Value) {
        if let Some(agent) = agent {
            self.publish(agent, name, data);
        }
    }

    /// A receiver of `agent`'s events; it ends when the host stops ([`AgentEvents::close`]).
    pub fn subscribe(&self, agent: &str) -> broadcast::Receiver<AgentEvent> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::SeqCst) {
            // Its sender is dropped here, so the stream ends after its first event.
            return broadcast::channel(1).1;
        }
        senders
            .entry(agent.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }

    /// Ends the event streams of `agent` this host holds (their token changed, or they were
    /// removed); a console that reconnects with the old token is refused.
    pub fn end(&self, agent: &str) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders.remove(agent);
    }

    /// Ends every event stream this host holds, and any opened later: an open stream would
    /// otherwise keep its connection, and so the process, alive after SIGTERM. Consoles
    /// reconnect to another host (or to this one restarted) and refetch what they show.
    pub fn close(&self) {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, Ordering::SeqCst);
        senders.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn close_ends_open_streams_and_later_ones() {
        let live = AgentEvents::default();
        let mut open = live.subscribe("alice");
        live.deliver("alice", "offer", serde_json::json!({"id": 1}));
        live.close();
        assert_eq!(open.recv().await.unwrap().name, "offer");
        assert!(matches!(
            open.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
        let mut later = live.subscribe("alice");
        assert!(matches!(
            later.recv().await,
            Err(broadcast::error::RecvError::Closed)
        ));
    }
}
