//! Live events for agents (server-sent events): offers, accepted interactions, customer
//! messages, delivery statuses, disconnects.

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
    pub fn publish(&self, agent: &str, name: &'static str, data: Value) {
        let senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = senders.get(agent) {
            let _ = sender.send(AgentEvent { name, data });
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
