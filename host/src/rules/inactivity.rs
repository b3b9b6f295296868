//! The inactivity timer of queues: when a customer in an agent's conversation goes quiet, a
//! warning goes out, and later the conversation ends (or moves to a flow).

use crate::config::InactivityConfig;
use crate::model::Conversation;

/// What a quiet conversation does now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send the queue's warning (once, until the customer writes again).
    Warn,
    /// End it, or move it to the rule's flow; send the end text if there is one.
    End,
}

/// What `conversation` (held by an agent in a queue with `rule`) does at `now`. Silence counts
/// from the customer's last message, or from the accept if that came later.
pub fn decide(conversation: &Conversation, rule: &InactivityConfig, now: i64) -> Option<Action> {
    let quiet_since = conversation
        .last_customer_at
        .max(conversation.assigned_at.unwrap_or(0));
    let quiet = (now - quiet_since) as f64;
    if quiet >= rule.end_after_minutes * 60_000.0 {
        Some(Action::End)
    } else if quiet >= rule.warn_after_minutes * 60_000.0
        && conversation.inactivity_warned_at.is_none()
    {
        Some(Action::Warn)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::threading::new_conversation;

    const MIN: i64 = 60_000;

    fn rule() -> InactivityConfig {
        InactivityConfig {
            warn_after_minutes: 2.0,
            warning: "still there?".into(),
            end_after_minutes: 5.0,
            end_text: None,
            flow: None,
        }
    }

    fn held(last_customer_at: i64, assigned_at: i64) -> Conversation {
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
        let mut c = new_conversation("c".into(), "x", &message, "f", None, 0);
        c.last_customer_at = last_customer_at;
        c.assigned_at = Some(assigned_at);
        c
    }

    #[test]
    fn a_warning_then_the_end() {
        assert_eq!(decide(&held(0, 0), &rule(), MIN), None);
        assert_eq!(decide(&held(0, 0), &rule(), 2 * MIN), Some(Action::Warn));
        let mut warned = held(0, 0);
        warned.inactivity_warned_at = Some(2 * MIN);
        assert_eq!(decide(&warned, &rule(), 3 * MIN), None, "warned once");
        assert_eq!(decide(&warned, &rule(), 5 * MIN), Some(Action::End));
        // Silence counts from the accept when the agent took it after the customer wrote.
        assert_eq!(decide(&held(0, 4 * MIN), &rule(), 5 * MIN), None);
    }
}
