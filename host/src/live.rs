//! Live events for agents (server-sent events): offers, accepted interactions, customer
//! messages, delivery statuses, disconnects. Nothing here is durable: an agent's console
//! refetches what it shows when its stream (re)connects.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::Value;
use tokio::sync::broadcast;

/// One event for one agent.
#[derive(Debug, Clone)]
pub struct AgentEvent {
    pub name: &'static str,
    pub data: Value,
}

/// A channel per agent; agents with no open event stream simply miss nothing durable (the
/// console refetches what it shows on connect).
#[derive(Default)]
pub struct AgentEvents {
    senders: Mutex<HashMap<String, broadcast::Sender<AgentEvent>>>,
}

impl AgentEvents {
    /// Tells `agent` (if anyone holds a stream for them) that `name` happened.
    pub fn publish(&self, agent: &str, name: &'static str, data: Value) {
        let senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = senders.get(agent) {
            let _ = sender.send(AgentEvent { name, data });
        }
    }

    /// Tells the agent holding a conversation (if any) that something changed in it.
    pub fn notify_holder(&self, agent: Option<&str>, name: &'static str, data: Value) {
        if let Some(agent) = agent {
            self.publish(agent, name, data);
        }
    }

    pub fn subscribe(&self, agent: &str) -> broadcast::Receiver<AgentEvent> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders
            .entry(agent.to_string())
            .or_insert_with(|| broadcast::channel(256).0)
            .subscribe()
    }
}
