//! Supervisors (`[[supervisor]]`): who may watch queues and agents live, with a token of their
//! own. A supervisor sees the queues they are given (every queue when none is named) and the
//! agents of those queues; they take no interactions.

use std::collections::HashSet;

use anyhow::bail;
use serde::Deserialize;

/// A supervisor of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Bearer token the supervisor signs in with.
    pub token: String,
    /// The queues they watch; every queue when empty.
    #[serde(default)]
    pub queues: Vec<String>,
}

impl SupervisorConfig {
    /// Whether they watch `queue`.
    pub fn watches(&self, queue: &str) -> bool {
        self.queues.is_empty() || self.queues.iter().any(|q| q == queue)
    }
}

/// Supervisors' ids are unique, their queues exist, and no token is an agent's (`agent_tokens`).
pub(super) fn check_supervisors(
    supervisors: &[SupervisorConfig],
    queues: &HashSet<&str>,
    agent_tokens: &[&str],
) -> anyhow::Result<()> {
    let mut ids = HashSet::new();
    for supervisor in supervisors {
        if !ids.insert(supervisor.id.as_str()) {
            bail!("supervisor `{}` is defined twice", supervisor.id);
        }
        if supervisor.token.len() < 8 {
            bail!(
                "supervisor `{}`: token must be at least 8 characters",
                supervisor.id
            );
        }
        if agent_tokens.contains(&supervisor.token.as_str()) {
            bail!(
                "supervisor `{}`: the token is an agent's too; give each a token of their own",
                supervisor.id
            );
        }
        for queue in &supervisor.queues {
            if !queues.contains(queue.as_str()) {
                bail!(
                    "supervisor `{}` watches unknown queue `{queue}`",
                    supervisor.id
                );
            }
        }
    }
    Ok(())
}
