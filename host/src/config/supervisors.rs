//! Supervisors (`[[supervisor]]`): who may watch queues and agents live, with a token of their
//! own. A supervisor sees the queues they are given (every queue when none is named) and the
//! agents of those queues; they take no interactions.

use std::collections::HashSet;

use anyhow::bail;
use serde::Deserialize;

/// A supervisor of the configuration.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// Bearer token the supervisor signs in with, in plaintext: hashed while the file is read,
    /// and `None` from then on.
    #[serde(default)]
    pub token: Option<String>,
    /// The token's Argon2 hash (a PHC string), given instead of `token` or made from it.
    #[serde(default)]
    pub token_hash: Option<String>,
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

/// Supervisors' ids are unique, their queues exist, and no plaintext token is an agent's
/// (`agent_tokens`; hashes cannot be compared).
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
        super::credentials::check_token_fields(
            &format!("supervisor `{}`", supervisor.id),
            supervisor.token.as_deref(),
            supervisor.token_hash.as_deref(),
        )?;
        if let Some(token) = supervisor.token.as_deref()
            && agent_tokens.contains(&token)
        {
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
