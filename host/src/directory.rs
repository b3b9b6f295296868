//! The agents the configuration names: who they are, which queues they work, and the tokens
//! they sign in with.

use std::collections::HashMap;

use crate::config::AgentConfig;

/// Agents by id, and by token for signing in.
pub struct AgentDirectory {
    agents: HashMap<String, AgentConfig>,
}

impl AgentDirectory {
    pub fn new(agents: &[AgentConfig]) -> AgentDirectory {
        AgentDirectory {
            agents: agents.iter().map(|a| (a.id.clone(), a.clone())).collect(),
        }
    }

    pub fn get(&self, id: &str) -> Option<&AgentConfig> {
        self.agents.get(id)
    }

    /// The agent `token` belongs to, compared in constant time.
    pub fn by_token(&self, token: &str) -> Option<&AgentConfig> {
        use subtle::ConstantTimeEq;
        self.agents
            .values()
            .find(|a| bool::from(a.token.as_bytes().ct_eq(token.as_bytes())))
    }

    /// Every agent, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &AgentConfig> {
        self.agents.values()
    }

    /// The name an agent signs messages with (their id when they have none).
    pub fn display_name(&self, id: &str) -> Option<String> {
        self.get(id)
            .map(|a| a.name.clone().unwrap_or_else(|| a.id.clone()))
    }
}
