//! Whether an agent may accept an interaction: it must be waiting (not offered to someone
//! else), in one of the agent's queues, and the agent must be available with room. Accepting
//! one's own interaction again is harmless.

use crate::config::AgentConfig;
use crate::model::{Conversation, ConversationState, Presence};

/// Why an accept was refused; each says what the agent can do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Someone else holds it, or it ended, or its flow still runs.
    Conflict(String),
    /// The agent is not a member of its queue.
    Forbidden(String),
}

/// What [`decide`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The agent already holds it: nothing to do.
    AlreadyHeld,
    /// Claim it (only if still queued: the claim is conditional, see the store).
    Claim,
}

/// Decides over what the store read in the accept's transaction: the conversation, the agent
/// its open offer is to (if any), the agent's presence and how many interactions they hold.
pub fn decide(
    conversation: &Conversation,
    agent: &AgentConfig,
    offered_to: Option<&str>,
    presence: Presence,
    holding: usize,
) -> Result<Decision, Refusal> {
    let id = &conversation.id;
    let agent_id = &agent.id;
    if conversation.state == ConversationState::Assigned
        && conversation.agent.as_deref() == Some(agent_id.as_str())
    {
        return Ok(Decision::AlreadyHeld);
    }
    // Outside the queue (and not offered it), the agent learns nothing of the interaction's
    // state: whether it is on offer, taken or ended is for the queue's members.
    let queue = conversation.queue.clone().unwrap_or_default();
    if offered_to != Some(agent_id.as_str()) && !agent.queues.contains(&queue) {
        return Err(Refusal::Forbidden(format!(
            "agent `{agent_id}` is not a member of the interaction's queue"
        )));
    }
    if conversation.state != ConversationState::Queued {
        let why = match conversation.state {
            ConversationState::Assigned => "another agent has accepted it",
            ConversationState::Ended => "it has ended",
            _ => "it is still in its flow",
        };
        return Err(Refusal::Conflict(format!(
            "interaction `{id}` cannot be accepted: {why}"
        )));
    }
    if offered_to.is_some_and(|to| to != agent_id) {
        return Err(Refusal::Conflict(format!(
            "interaction `{id}` is offered to another agent"
        )));
    }
    if presence != Presence::Available {
        return Err(Refusal::Conflict(format!(
            "agent `{agent_id}` is {}; set presence to available to accept interactions",
            presence.as_str()
        )));
    }
    if holding >= agent.capacity as usize {
        return Err(Refusal::Conflict(format!(
            "agent `{agent_id}` already holds {holding} interactions, the capacity"
        )));
    }
    Ok(Decision::Claim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::threading::new_conversation;

    fn agent() -> AgentConfig {
        AgentConfig {
            id: "alice".into(),
            name: None,
            token: None,
            token_hash: None,
            queues: vec!["support".into()],
            capacity: 2,
            channel_capacity: Default::default(),
            skills: Default::default(),
            languages: vec![],
        }
    }

    fn queued(queue: &str) -> Conversation {
        let message = crate::events::InboundMessage {
            id: "m".into(),
            customer_id: "42".into(),
            timestamp_ms: 0,
            text: None,
            attachments: vec![],
            quick_reply: None,
            profile: None,
            kind: Default::default(),
            reply_to: None,
            reaction: None,
        };
        let mut c = new_conversation("c1".into(), "x-demo", &message, "support", None, 0);
        c.state = ConversationState::Queued;
        c.queue = Some(queue.into());
        c
    }

    #[test]
    fn a_waiting_interaction_of_the_agents_queue_is_claimed() {
        assert_eq!(
            decide(&queued("support"), &agent(), None, Presence::Available, 1),
            Ok(Decision::Claim)
        );
        assert_eq!(
            decide(
                &queued("support"),
                &agent(),
                Some("alice"),
                Presence::Available,
                0
            ),
            Ok(Decision::Claim)
        );
    }

    #[test]
    fn each_refusal_says_why() {
        let conflict = |r: Result<Decision, Refusal>| match r {
            Err(Refusal::Conflict(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(
            conflict(decide(
                &queued("support"),
                &agent(),
                Some("bob"),
                Presence::Available,
                0
            ))
            .contains("offered to another agent")
        );
        assert!(
            conflict(decide(
                &queued("support"),
                &agent(),
                None,
                Presence::Away,
                0
            ))
            .contains("is away")
        );
        assert!(
            conflict(decide(
                &queued("support"),
                &agent(),
                None,
                Presence::Available,
                2
            ))
            .contains("already holds 2")
        );
        let mut taken = queued("support");
        taken.state = ConversationState::Assigned;
        taken.agent = Some("bob".into());
        assert!(
            conflict(decide(&taken, &agent(), None, Presence::Available, 0))
                .contains("another agent has accepted it")
        );
        let mut ended = queued("support");
        ended.state = ConversationState::Ended;
        assert!(conflict(decide(&ended, &agent(), None, Presence::Available, 0)).contains("ended"));
        // Outside the queue, the same refusal whatever the state: nothing leaks.
        let forbidden = |c: &Conversation, offered_to: Option<&str>| match decide(
            c,
            &agent(),
            offered_to,
            Presence::Available,
            0,
        ) {
            Err(Refusal::Forbidden(m)) => m,
            other => panic!("{other:?}"),
        };
        let mut elsewhere_taken = queued("billing");
        elsewhere_taken.state = ConversationState::Assigned;
        elsewhere_taken.agent = Some("bob".into());
        let mut elsewhere_ended = queued("billing");
        elsewhere_ended.state = ConversationState::Ended;
        let refusals = [
            forbidden(&queued("billing"), None),
            forbidden(&queued("billing"), Some("bob")),
            forbidden(&elsewhere_taken, None),
            forbidden(&elsewhere_ended, None),
        ];
        assert!(
            refusals
                .iter()
                .all(|m| m == "agent `alice` is not a member of the interaction's queue"),
            "{refusals:?}"
        );
        let mut mine = queued("support");
        mine.state = ConversationState::Assigned;
        mine.agent = Some("alice".into());
        assert_eq!(
            decide(&mine, &agent(), None, Presence::Offline, 9),
            Ok(Decision::AlreadyHeld)
        );
    }
}
