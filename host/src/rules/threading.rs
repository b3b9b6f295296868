//! Threading: which conversation a customer's message joins.
//!
//! Messages from one customer on one integration within the threading window (default 72 h,
//! 0-72 h) are one interaction. A customer writing again after the wrap-up but within the window
//! continues the same interaction: it goes back to its queue (and to the last agent, if
//! available). A reaction never opens anything: it is kept on the conversation it reacts to.

use crate::events::{InboundMessage, MessageKind};
use crate::model::{Conversation, ConversationState};

/// The earliest `last_customer_at` a conversation may have to be joined, or `None` when the
/// window is 0 (every message starts a new interaction).
pub fn window_start(window_ms: i64, now: i64) -> Option<i64> {
    (window_ms > 0).then(|| now - window_ms)
}

/// What [`choose`] decided.
#[derive(Debug, Clone)]
pub struct Threaded {
    pub conversation: Conversation,
    /// A new conversation (to insert), not an existing one (to update).
    pub is_new: bool,
}

/// Which conversation `message` joins: the customer's latest one within the window (`latest`,
/// as the store found it), or a new one made by `fresh`.
pub fn choose(
    latest: Option<Conversation>,
    message: &InboundMessage,
    fresh: impl FnOnce() -> Conversation,
    now: i64,
) -> Threaded {
    let (conversation, is_new) = match latest {
        Some(c) if c.state != ConversationState::Ended => (c, false),
        // A reaction to an ended conversation is kept there; it opens nothing.
        Some(c) if message.kind == MessageKind::Reaction => (c, false),
        // Within the window, writing again after the wrap-up continues the same interaction.
        Some(mut c) if c.queue.is_some() => {
            c.state = ConversationState::Queued;
            c.queued_at = Some(now);
            c.agent = None;
            c.inactivity_warned_at = None;
            (c, false)
        }
        _ => (fresh(), true),
    };
    Threaded {
        conversation,
        is_new,
    }
}

/// A new conversation in `flow` (at `flow_version`) for the customer who wrote `message`.
pub fn new_conversation(
    id: String,
    integration: &str,
    message: &InboundMessage,
    flow: &str,
    flow_version: Option<i64>,
    now: i64,
) -> Conversation {
    Conversation {
        id,
        integration: integration.to_string(),
        customer_id: message.customer_id.clone(),
        customer: Default::default(),
        state: ConversationState::Flow,
        flow: Some(flow.to_string()),
        flow_version,
        flow_state: None,
        queue: None,
        priority: 0,
        skills: Vec::new(),
        agent: None,
        last_agent: None,
        participant_data: Default::default(),
        queued_at: None,
        created_at: now,
        updated_at: now,
        last_customer_at: now,
        last_customer_written_at: now,
        flow_timeout_at: None,
        language: None,
        preferred_agents: Vec::new(),
        inactivity_warned_at: None,
        assigned_at: None,
        version: 0,
    }
}

/// Notes on `conversation` that the customer wrote `message` (arrived at `now`): the latest
/// profile, when they wrote, and a cleared inactivity warning.
///
/// Reply windows count from when the customer wrote (the platform's timestamp), not from when
/// the webhook arrived; a platform clock ahead of ours is not trusted. Threading counts from the
/// arrival.
pub fn note_customer_message(
    conversation: &mut Conversation,
    message: &InboundMessage,
    is_new: bool,
    now: i64,
) {
    if let Some(profile) = &message.profile {
        conversation.customer = profile.clone();
    }
    let written_at = match message.timestamp_ms as i64 {
        0 => now,
        at => at.min(now),
    };
    conversation.last_customer_at = now;
    conversation.inactivity_warned_at = None;
    conversation.last_customer_written_at = if is_new {
        written_at
    } else {
        conversation.last_customer_written_at.max(written_at)
    };
    conversation.updated_at = now;
}

/// Whether the message moves the conversation's flow: only while the flow runs, and never for
/// a reaction (shown to agents, it answers no question).
pub fn runs_flow(conversation: &Conversation, message: &InboundMessage) -> bool {
    conversation.state == ConversationState::Flow && message.kind != MessageKind::Reaction
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Profile;

    const H: i64 = 3_600_000;

    fn message(kind: MessageKind, timestamp_ms: u64) -> InboundMessage {
        InboundMessage {
            id: "dm-1".into(),
            customer_id: "42".into(),
            timestamp_ms,
            text: Some("hi".into()),
            attachments: vec![],
            quick_reply: None,
            profile: Some(Profile {
                display_name: Some("Dana".into()),
                ..Profile::default()
            }),
            kind,
            reply_to: None,
            reaction: None,
        }
    }

    fn conversation(state: ConversationState, queue: Option<&str>) -> Conversation {
        let mut c = new_conversation(
            "c1".into(),
            "x-demo",
            &message(MessageKind::Direct, 0),
            "support",
            Some(1),
            0,
        );
        c.state = state;
        c.queue = queue.map(str::to_string);
        c.agent = Some("alice".into());
        c.inactivity_warned_at = Some(5);
        c
    }

    fn fresh() -> Conversation {
        new_conversation(
            "c2".into(),
            "x-demo",
            &message(MessageKind::Direct, 0),
            "support",
            Some(3),
            100,
        )
    }

    #[test]
    fn a_zero_window_threads_nothing() {
        assert_eq!(window_start(0, 10 * H), None);
        assert_eq!(window_start(72 * H, 100 * H), Some(28 * H));
    }

    #[test]
    fn an_open_conversation_is_joined_and_an_ended_one_is_not() {
        let m = message(MessageKind::Direct, 0);
        let joined = choose(
            Some(conversation(ConversationState::Flow, None)),
            &m,
            fresh,
            100,
        );
        assert!(!joined.is_new);
        assert_eq!(joined.conversation.id, "c1");
        let ended = choose(
            Some(conversation(ConversationState::Ended, None)),
            &m,
            fresh,
            100,
        );
        assert!(ended.is_new);
        assert_eq!(ended.conversation.id, "c2");
        assert_eq!(ended.conversation.flow_version, Some(3));
        assert!(choose(None, &m, fresh, 100).is_new);
    }

    #[test]
    fn writing_again_after_the_wrap_up_goes_back_to_the_queue() {
        let m = message(MessageKind::Direct, 0);
        let threaded = choose(
            Some(conversation(ConversationState::Ended, Some("billing"))),
            &m,
            fresh,
            100,
        );
        assert!(!threaded.is_new);
        let c = threaded.conversation;
        assert_eq!(
            (c.state, c.queued_at, c.agent, c.inactivity_warned_at),
            (ConversationState::Queued, Some(100), None, None)
        );
        assert_eq!(c.queue.as_deref(), Some("billing"));
    }

    #[test]
    fn a_reaction_stays_on_the_ended_conversation_and_never_runs_the_flow() {
        let m = message(MessageKind::Reaction, 0);
        let threaded = choose(
            Some(conversation(ConversationState::Ended, Some("billing"))),
            &m,
            fresh,
            100,
        );
        assert_eq!(
            (threaded.conversation.state, threaded.is_new),
            (ConversationState::Ended, false)
        );
        assert!(!runs_flow(&conversation(ConversationState::Flow, None), &m));
        assert!(runs_flow(
            &conversation(ConversationState::Flow, None),
            &message(MessageKind::Direct, 0)
        ));
        assert!(!runs_flow(
            &conversation(ConversationState::Queued, Some("q")),
            &message(MessageKind::Direct, 0)
        ));
    }

    #[test]
    fn reply_windows_count_from_the_platforms_clock_never_from_the_future() {
        let mut c = conversation(ConversationState::Flow, None);
        c.last_customer_written_at = 50;
        note_customer_message(&mut c, &message(MessageKind::Direct, 80), false, 100);
        assert_eq!(
            (
                c.last_customer_at,
                c.last_customer_written_at,
                c.inactivity_warned_at
            ),
            (100, 80, None)
        );
        assert_eq!(c.customer.display_name.as_deref(), Some("Dana"));
        // A clock ahead of ours counts as now; an older message never moves it back.
        note_customer_message(&mut c, &message(MessageKind::Direct, 500), false, 200);
        assert_eq!(c.last_customer_written_at, 200);
        note_customer_message(&mut c, &message(MessageKind::Direct, 10), false, 300);
        assert_eq!(c.last_customer_written_at, 200);
        // No platform time: the arrival.
        let mut new = fresh();
        note_customer_message(&mut new, &message(MessageKind::Direct, 0), true, 400);
        assert_eq!(new.last_customer_written_at, 400);
    }
}
