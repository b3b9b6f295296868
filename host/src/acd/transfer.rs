//! Transfers: an agent hands an interaction they hold to a queue, or to another agent, with a
//! note. It waits in the queue again and routing offers it anew ([`crate::rules::routing`]):
//! to the agent named while they are available, otherwise to the queue, the transferring agent
//! last.

use serde_json::json;

use super::agents::Acd;
use super::error::AcdError;
use crate::config::AgentConfig;
use crate::model::{Conversation, Presence, now_ms};
use crate::store::{TransferRequest, Transferred};

/// The longest note kept.
const MAX_NOTE: usize = 2_000;

/// Where an agent transfers an interaction.
pub struct TransferTo {
    /// A queue; with `agent`, one of that agent's queues (default: the interaction's queue when
    /// the agent works it, else the agent's first queue).
    pub queue: Option<String>,
    pub agent: Option<String>,
    /// For whoever takes it.
    pub note: Option<String>,
}

impl Acd {
    /// Transfers interaction `id`, which `agent` holds. Returns it as it now waits.
    pub async fn transfer(
        &self,
        agent: &AgentConfig,
        id: &str,
        to: TransferTo,
    ) -> Result<Conversation, AcdError> {
        let conversation = self.held_by(agent, id).await?;
        let note = to
            .note
            .map(|n| n.trim().chars().take(MAX_NOTE).collect::<String>())
            .filter(|n| !n.is_empty());
        let (queue, target) = match (to.queue, to.agent) {
            (None, None) => {
                return Err(AcdError::Invalid(
                    "name a `queue` or an `agent` to transfer to".into(),
                ));
            }
            (Some(queue), None) => {
                if !self.queues.contains(&queue) {
                    return Err(AcdError::NotFound(format!(
                        "queue `{queue}` does not exist"
                    )));
                }
                (queue, None)
            }
            (queue, Some(target)) => {
                let target = self.transfer_target(agent, &conversation, &target).await?;
                let queue = match queue {
                    Some(queue) if target.queues.contains(&queue) => queue,
                    Some(queue) => {
                        return Err(AcdError::Invalid(format!(
                            "agent `{}` does not work queue `{queue}`",
                            target.id
                        )));
                    }
                    None => conversation
                        .queue
                        .clone()
                        .filter(|q| target.queues.contains(q))
                        .or_else(|| target.queues.first().cloned())
                        .ok_or_else(|| {
                            AcdError::Invalid(format!("agent `{}` works no queue", target.id))
                        })?,
                };
                (queue, Some(target.id))
            }
        };
        let transferred = self
            .store
            .transfer(TransferRequest {
                conversation: id.to_string(),
                from_agent: agent.id.clone(),
                to_queue: queue.clone(),
                to_agent: target.clone(),
                note,
                now: now_ms(),
            })
            .await?;
        let conversation = match transferred {
            Transferred::Done(conversation) => *conversation,
            Transferred::NotHeld => {
                return Err(AcdError::Conflict(format!(
                    "agent `{}` does not hold interaction `{id}`",
                    agent.id
                )));
            }
            Transferred::NotFound => {
                return Err(AcdError::NotFound(format!(
                    "interaction `{id}` does not exist"
                )));
            }
        };
        self.live.publish(
            &agent.id,
            "transferred",
            json!({ "interaction": id, "queue": queue, "agent": target }),
        );
        self.wake.wake_route();
        Ok(conversation)
    }

    /// The agent an interaction may be transferred to: another agent, available now, who
    /// speaks its language.
    async fn transfer_target(
        &self,
        agent: &AgentConfig,
        conversation: &Conversation,
        target: &str,
    ) -> Result<AgentConfig, AcdError> {
        let Some(target) = self.agents.get(target) else {
            return Err(AcdError::NotFound(format!(
                "agent `{target}` does not exist"
            )));
        };
        if target.id == agent.id {
            return Err(AcdError::Invalid(
                "you hold this interaction already".into(),
            ));
        }
        let (presence, _) = self.store.presence(&target.id).await?;
        if presence != Presence::Available {
            return Err(AcdError::Conflict(format!(
                "agent `{}` is {}; transfer to a queue instead, or when they are available",
                target.id,
                presence.as_str()
            )));
        }
        if let Some(language) = &conversation.language
            && !target
                .languages
                .iter()
                .any(|l| l.eq_ignore_ascii_case(language))
        {
            return Err(AcdError::Invalid(format!(
                "agent `{}` does not speak `{language}`, the customer's language",
                target.id
            )));
        }
        Ok(target)
    }
}
