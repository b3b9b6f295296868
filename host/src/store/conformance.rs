//! The store conformance suite: behaviours every engine of the Store interface must have,
//! written against the interface only. Each case takes a fresh, empty store;
//! [`crate::store_conformance_tests`] turns the whole suite into `#[tokio::test]`s for an engine
//! (the SQLite engine runs it in `sqlite/`; another engine runs it unchanged).

use std::sync::Arc;

use crate::config::{AgentConfig, InactivityConfig};
use crate::events::{Author, DeliveryStatus, InboundEvent, InboundMessage, Receipt};
use crate::model::{
    Canned, ConversationState, FilterRule, InsertOutcome, MessageStatus, NewMessage, Presence,
};
use crate::rules::routing::RoutingConfig;

use super::api::{
    AcceptRequest, Accepted, InactivityRule, SendRecord, Store, ThreadMessage, TurnRecord,
};

/// Generates one `#[tokio::test]` per conformance case. `$make` is an expression giving
/// `(guard, Arc<dyn Store>)` for a fresh store; the guard lives as long as the case (a temp
/// folder, a database to drop).
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        $crate::store_conformance_tests!(@cases $make;
            a_redelivered_event_is_stored_once,
            messages_thread_into_one_conversation_per_customer,
            a_zero_window_makes_every_message_a_new_conversation,
            a_flow_turn_stores_replies_state_and_the_processed_event,
            a_message_is_claimed_once_per_attempt_and_in_order,
            a_crash_leaves_claims_that_the_next_start_releases,
            receipts_only_move_forward_and_failed_wins,
            one_of_two_agents_accepting_at_once_wins,
            routing_offers_one_agent_at_a_time_and_expiry_moves_on,
            a_quiet_customer_is_warned_then_ended,
            flows_and_plugins_keep_every_version,
            daily_caps_count_per_utc_day,
            saving_an_integration_reauthorizes_it_and_wakes_its_messages,
            canned_responses_and_filters,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (_guard, store) = $make;
                $crate::store::conformance::$case(store).await;
            }
        )*
    };
}

const INTEGRATION: &str = "x-demo";
const MIN: i64 = 60_000;

fn message(id: &str, customer: &str, text: &str) -> InboundMessage {
    InboundMessage {
        id: id.into(),
        customer_id: customer.into(),
        timestamp_ms: 0,
        text: Some(text.into()),
        attachments: vec![],
        quick_reply: None,
        profile: None,
        kind: Default::default(),
        reply_to: None,
        reaction: None,
    }
}

/// Stores `message` in the inbox and threads it, as the inbox worker does.
async fn deliver(
    store: &Arc<dyn Store>,
    message: InboundMessage,
    window_ms: i64,
    now: i64,
) -> crate::model::Conversation {
    let outcomes = store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message.clone())],
            now,
        )
        .await
        .unwrap();
    let seq = match outcomes[0] {
        InsertOutcome::Stored(seq) => seq,
        InsertOutcome::Duplicate => 0,
    };
    store
        .thread_message(ThreadMessage {
            integration: INTEGRATION.into(),
            seq,
            message,
            flow: "support".into(),
            flow_version: Some(1),
            window_ms,
            now,
        })
        .await
        .unwrap()
}

/// A conversation of `customer` waiting in `queue` (threaded, then transferred by a turn).
async fn queued(
    store: &Arc<dyn Store>,
    customer: &str,
    queue: &str,
    now: i64,
) -> crate::model::Conversation {
    let mut c = deliver(
        store,
        message(&format!("m-{customer}"), customer, "hi"),
        72 * 60 * MIN,
        now,
    )
    .await;
    c.state = ConversationState::Queued;
    c.queue = Some(queue.into());
    c.queued_at = Some(now);
    store
        .apply_turn(TurnRecord {
            conversation: c.clone(),
            replies: vec![],
            processed: None,
            now,
        })
        .await
        .unwrap();
    c
}

fn agent(id: &str, capacity: u32) -> AgentConfig {
    AgentConfig {
        id: id.into(),
        name: None,
        token: format!("{id}-token"),
        queues: vec!["support".into()],
        capacity,
        channel_capacity: Default::default(),
        skills: Default::default(),
        languages: vec![],
    }
}

pub async fn a_redelivered_event_is_stored_once(store: Arc<dyn Store>) {
    let event = InboundEvent::Message(message("dm-1", "42", "hi"));
    let outcomes = store
        .ingest(INTEGRATION, vec![event.clone(), event.clone()], 1)
        .await
        .unwrap();
    assert!(matches!(outcomes[0], InsertOutcome::Stored(_)));
    assert_eq!(outcomes[1], InsertOutcome::Duplicate);
    assert_eq!(
        store.ingest(INTEGRATION, vec![event], 2).await.unwrap(),
        [InsertOutcome::Duplicate]
    );
    // The same platform id on another integration is another event.
    let other = InboundEvent::Message(message("dm-1", "42", "hi"));
    assert!(matches!(
        store.ingest("om-demo", vec![other], 3).await.unwrap()[0],
        InsertOutcome::Stored(_)
    ));
    let pending = store.pending_events(0, 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    store.mark_processed(pending[0].seq, 4).await.unwrap();
    let left = store.pending_events(0, 10).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].integration, "om-demo");
    assert!(
        store
            .pending_events(left[0].seq, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn messages_thread_into_one_conversation_per_customer(store: Arc<dyn Store>) {
    let window = 72 * 60 * MIN;
    let first = deliver(&store, message("a-1", "ann", "hello"), window, MIN).await;
    let second = deliver(&store, message("a-2", "ann", "again"), window, 2 * MIN).await;
    let other = deliver(&store, message("b-1", "bob", "hi"), window, 2 * MIN).await;
    assert_eq!(first.id, second.id);
    assert_ne!(first.id, other.id);
    assert_eq!(first.state, ConversationState::Flow);
    assert_eq!(first.flow_version, Some(1));
    // A redelivery (the same platform id) stores nothing new.
    deliver(&store, message("a-2", "ann", "again"), window, 3 * MIN).await;
    let transcript = store.transcript(&first.id).await.unwrap().unwrap();
    let texts: Vec<_> = transcript
        .messages
        .iter()
        .map(|m| m.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["hello", "again"]);
    assert!(
        transcript
            .messages
            .iter()
            .all(|m| m.status == MessageStatus::Received && m.author == Author::Customer)
    );
    assert_eq!(transcript.conversation.last_customer_at, 2 * MIN);
    // The flow runs on these messages: their inbox events stay pending for the turn.
    assert_eq!(store.pending_events(0, 10).await.unwrap().len(), 3);
    // Ended within the window and never queued: the next message starts anew.
    let mut ended = transcript.conversation.clone();
    ended.state = ConversationState::Ended;
    store
        .apply_turn(TurnRecord {
            conversation: ended,
            replies: vec![],
            processed: None,
            now: 4 * MIN,
        })
        .await
        .unwrap();
    let next = deliver(&store, message("a-3", "ann", "new topic"), window, 5 * MIN).await;
    assert_ne!(next.id, first.id);
}

pub async fn a_zero_window_makes_every_message_a_new_conversation(store: Arc<dyn Store>) {
    let first = deliver(&store, message("z-1", "zoe", "one"), 0, MIN).await;
    let second = deliver(&store, message("z-2", "zoe", "two"), 0, MIN + 1).await;
    assert_ne!(first.id, second.id);
}

pub async fn a_flow_turn_stores_replies_state_and_the_processed_event(store: Arc<dyn Store>) {
    let mut c = deliver(&store, message("t-1", "tom", "hi"), 60 * MIN, MIN).await;
    let seq = store.pending_events(0, 10).await.unwrap()[0].seq;
    c.flow_state = Some("{\"step\":\"ask\"}".into());
    c.flow_timeout_at = Some(10 * MIN);
    c.participant_data.insert("topic".into(), "billing".into());
    store
        .apply_turn(TurnRecord {
            conversation: c.clone(),
            replies: vec![
                NewMessage::outbound(&c.id, Author::Bot, Some("Hi".into())),
                NewMessage::outbound(&c.id, Author::Bot, Some("What?".into())),
            ],
            processed: Some(seq),
            now: 2 * MIN,
        })
        .await
        .unwrap();
    assert!(store.pending_events(0, 10).await.unwrap().is_empty());
    let stored = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(stored.flow_state.as_deref(), Some("{\"step\":\"ask\"}"));
    assert_eq!(stored.participant_data["topic"], "billing");
    assert_eq!(store.pending_sends().await.unwrap(), 2);
    // The ask times out at 10 minutes, not before.
    assert!(
        store
            .due_flow_timeouts(9 * MIN, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_flow_timeout().await.unwrap(), Some(10 * MIN));
    let due = store.due_flow_timeouts(10 * MIN, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        (due[0].conversation.as_str(), due[0].customer_id.as_str()),
        (c.id.as_str(), "tom")
    );
}

pub async fn a_message_is_claimed_once_per_attempt_and_in_order(store: Arc<dyn Store>) {
    let a = deliver(&store, message("c-1", "cat", "hi"), 60 * MIN, 1).await;
    let b = deliver(&store, message("d-1", "dan", "hi"), 60 * MIN, 1).await;
    let one = store
        .queue_message(
            NewMessage::outbound(&a.id, Author::Bot, Some("one".into())),
            1,
        )
        .await
        .unwrap();
    let two = store
        .queue_message(
            NewMessage::outbound(&a.id, Author::Bot, Some("two".into())),
            1,
        )
        .await
        .unwrap();
    let three = store
        .queue_message(
            NewMessage::outbound(&b.id, Author::Bot, Some("three".into())),
            1,
        )
        .await
        .unwrap();
    let claimed = store.claim_sends(10, 10, 1000).await.unwrap();
    let ids: Vec<_> = claimed.iter().map(|s| s.message.id.clone()).collect();
    assert_eq!(
        ids,
        [one.clone(), three.clone()],
        "the second of a conversation waits for the first"
    );
    assert!(claimed.iter().all(|s| s.message.attempts == 1));
    assert_eq!(claimed[0].conversation.id, a.id);
    // Another pass gets nothing: both are claimed, and `two` waits behind `one`.
    assert!(store.claim_sends(20, 10, 1000).await.unwrap().is_empty());
    // `one` fails with a retry due at 500: not before.
    store
        .record_send(
            &one,
            1,
            SendRecord::Retry {
                error: "transient: 503".into(),
                at: 500,
                uncount: false,
            },
            30,
        )
        .await
        .unwrap();
    assert_eq!(store.next_send_at().await.unwrap(), Some(500));
    assert!(store.claim_sends(499, 10, 1000).await.unwrap().is_empty());
    let again = store.claim_sends(500, 10, 1000).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].message.id.clone(), again[0].message.attempts),
        (one.clone(), 2)
    );
    // A holder of an older attempt cannot record anything.
    store
        .record_send(
            &one,
            1,
            SendRecord::Sent {
                platform_id: "late".into(),
            },
            510,
        )
        .await
        .unwrap();
    store
        .record_send(
            &one,
            2,
            SendRecord::Sent {
                platform_id: "p-1".into(),
            },
            520,
        )
        .await
        .unwrap();
    store
        .record_send(
            &three,
            1,
            SendRecord::Failed {
                error: "permanent: 400".into(),
            },
            520,
        )
        .await
        .unwrap();
    let next = store.claim_sends(600, 10, 1000).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].message.id, two);
    // A deauthorized integration gives its attempt back.
    store
        .record_send(
            &two,
            1,
            SendRecord::Retry {
                error: "auth".into(),
                at: 700,
                uncount: true,
            },
            610,
        )
        .await
        .unwrap();
    let transcript = store.transcript(&a.id).await.unwrap().unwrap();
    let outbound: Vec<_> = transcript
        .messages
        .iter()
        .filter(|m| m.author == Author::Bot)
        .map(|m| {
            (
                m.text.clone().unwrap(),
                m.status,
                m.attempts,
                m.platform_id.clone(),
            )
        })
        .collect();
    assert_eq!(
        outbound,
        [
            (
                "one".to_string(),
                MessageStatus::Sent,
                2,
                Some("p-1".to_string())
            ),
            ("two".to_string(), MessageStatus::Pending, 0, None),
        ]
    );
    let failed = store.transcript(&b.id).await.unwrap().unwrap();
    let three = failed.messages.iter().find(|m| m.id == three).unwrap();
    assert_eq!(
        (three.status, three.error.as_deref()),
        (MessageStatus::Failed, Some("permanent: 400"))
    );
    assert_eq!(store.pending_sends().await.unwrap(), 1);
}

pub async fn a_crash_leaves_claims_that_the_next_start_releases(store: Arc<dyn Store>) {
    let a = deliver(&store, message("e-1", "eve", "hi"), 60 * MIN, 1).await;
    let id = store
        .queue_message(
            NewMessage::outbound(&a.id, Author::Bot, Some("one".into())),
            1,
        )
        .await
        .unwrap();
    assert_eq!(store.claim_sends(10, 10, 1000).await.unwrap().len(), 1);
    // A claim whose lease ran out is due again (its holder died) ...
    assert_eq!(store.next_send_at().await.unwrap(), Some(1010));
    let taken = store.claim_sends(1010, 10, 1000).await.unwrap();
    assert_eq!(
        (taken[0].message.id.clone(), taken[0].message.attempts),
        (id.clone(), 2)
    );
    // ... and a start releases every open claim at once, the attempts kept.
    assert_eq!(store.release_claims(1100).await.unwrap(), 1);
    let after = store.claim_sends(1100, 10, 1000).await.unwrap();
    assert_eq!(after[0].message.attempts, 3);
}

pub async fn receipts_only_move_forward_and_failed_wins(store: Arc<dyn Store>) {
    let a = deliver(&store, message("r-1", "rae", "hi"), 60 * MIN, 1).await;
    let id = store
        .queue_message(
            NewMessage::outbound(&a.id, Author::Bot, Some("one".into())),
            1,
        )
        .await
        .unwrap();
    store.claim_sends(2, 1, 1000).await.unwrap();
    store
        .record_send(
            &id,
            1,
            SendRecord::Sent {
                platform_id: "wamid.1".into(),
            },
            3,
        )
        .await
        .unwrap();
    let receipt = |status, reason: Option<&str>| Receipt {
        message_id: "wamid.1".into(),
        customer_id: "rae".into(),
        status,
        reason: reason.map(str::to_string),
        timestamp_ms: 0,
    };
    let read = store
        .apply_receipt(INTEGRATION, 0, receipt(DeliveryStatus::Read, None), 4)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.message.as_str(), read.status),
        (id.as_str(), MessageStatus::Read)
    );
    assert_eq!(
        store
            .apply_receipt(INTEGRATION, 0, receipt(DeliveryStatus::Delivered, None), 5)
            .await
            .unwrap(),
        None,
        "a late `delivered` never undoes `read`"
    );
    assert_eq!(
        store
            .apply_receipt("other", 0, receipt(DeliveryStatus::Failed, None), 5)
            .await
            .unwrap(),
        None,
        "another integration's receipt does not touch it"
    );
    let failed = store
        .apply_receipt(
            INTEGRATION,
            0,
            receipt(DeliveryStatus::Failed, Some("131047")),
            6,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed.status, MessageStatus::Failed);
    let m = store.transcript(&a.id).await.unwrap().unwrap().messages;
    let m = m.iter().find(|m| m.id == id).unwrap();
    assert_eq!(
        (m.status, m.error.as_deref()),
        (MessageStatus::Failed, Some("131047"))
    );
}

pub async fn one_of_two_agents_accepting_at_once_wins(store: Arc<dyn Store>) {
    let c = queued(&store, "amy", "support", MIN).await;
    for id in ["alice", "bob"] {
        store
            .set_presence(id, Presence::Available, MIN)
            .await
            .unwrap();
    }
    let request = |agent_id: &str| AcceptRequest {
        conversation: c.id.clone(),
        agent: agent(agent_id, 2),
        now: 2 * MIN,
    };
    let (first, second) =
        tokio::join!(store.accept(request("alice")), store.accept(request("bob")));
    let outcomes = [first.unwrap(), second.unwrap()];
    let winners: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Accepted::Held(c) => c.agent.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let held = store.conversation(&c.id).await.unwrap().unwrap();
    assert_eq!(held.state, ConversationState::Assigned);
    assert_eq!(held.agent, Some(winners[0].clone()));
    assert_eq!(held.last_agent, held.agent);
    // Accepting one's own again is harmless; the other still cannot.
    assert!(matches!(
        store.accept(request(&winners[0])).await.unwrap(),
        Accepted::Held(_)
    ));
    assert!(matches!(
        store
            .accept(AcceptRequest {
                conversation: "nope".into(),
                ..request("bob")
            })
            .await
            .unwrap(),
        Accepted::NotFound
    ));
    assert_eq!(store.assigned_to(&winners[0]).await.unwrap().len(), 1);
    // Wrap-up ends it, once, by its holder only.
    let loser = if winners[0] == "alice" {
        "bob"
    } else {
        "alice"
    };
    assert!(
        !store
            .wrap_up(&c.id, loser, "resolved", None, 3 * MIN)
            .await
            .unwrap()
    );
    assert!(
        store
            .wrap_up(&c.id, &winners[0], "resolved", Some("ok"), 3 * MIN)
            .await
            .unwrap()
    );
    assert!(
        !store
            .wrap_up(&c.id, &winners[0], "resolved", None, 3 * MIN)
            .await
            .unwrap()
    );
    let t = store.transcript(&c.id).await.unwrap().unwrap();
    assert_eq!(t.conversation.state, ConversationState::Ended);
    assert_eq!(t.wrapups.len(), 1);
    assert_eq!(
        (t.wrapups[0].code.as_str(), t.wrapups[0].notes.as_deref()),
        ("resolved", Some("ok"))
    );
}

pub async fn routing_offers_one_agent_at_a_time_and_expiry_moves_on(store: Arc<dyn Store>) {
    let config = RoutingConfig {
        agents: vec![agent("alice", 1), agent("bob", 1)],
        queues: Default::default(),
        platforms: [(INTEGRATION.to_string(), "x".to_string())].into(),
    };
    let c = queued(&store, "ivy", "support", MIN).await;
    store
        .set_presence("alice", Presence::Available, 0)
        .await
        .unwrap();
    store
        .set_presence("bob", Presence::Available, 10)
        .await
        .unwrap();
    let first = store.route(&config, 2 * MIN).await.unwrap();
    assert_eq!(first.offered.len(), 1);
    assert_eq!(first.offered[0].agent, "alice", "the longest idle");
    assert_eq!(first.next_expiry, Some(2 * MIN + 30_000));
    assert_eq!(store.offers_to("alice").await.unwrap().len(), 1);
    // Nothing new while the offer is open.
    assert!(
        store
            .route(&config, 2 * MIN + 1)
            .await
            .unwrap()
            .offered
            .is_empty()
    );
    // Bob cannot take what is offered to Alice.
    let taken = store
        .accept(AcceptRequest {
            conversation: c.id.clone(),
            agent: agent("bob", 1),
            now: 2 * MIN + 2,
        })
        .await
        .unwrap();
    assert!(matches!(taken, Accepted::Refused(_)), "{taken:?}");
    // Unanswered: Alice becomes not-responding and Bob gets it.
    let second = store.route(&config, 3 * MIN).await.unwrap();
    assert_eq!(
        second.withdrawn,
        [("alice".to_string(), c.id.clone(), "timeout")]
    );
    assert_eq!(second.offered[0].agent, "bob");
    assert_eq!(
        store.presence("alice").await.unwrap().0,
        Presence::NotResponding
    );
    // Bob declines: nobody is left who has not refused it.
    assert!(store.decline(&c.id, "bob").await.unwrap());
    assert!(!store.decline(&c.id, "bob").await.unwrap());
    assert!(
        store
            .route(&config, 3 * MIN + 1)
            .await
            .unwrap()
            .offered
            .is_empty()
    );
    assert_eq!(store.queued("support").await.unwrap().len(), 1);
}

pub async fn a_quiet_customer_is_warned_then_ended(store: Arc<dyn Store>) {
    let c = queued(&store, "quinn", "support", 0).await;
    store
        .set_presence("alice", Presence::Available, 0)
        .await
        .unwrap();
    let accepted = store
        .accept(AcceptRequest {
            conversation: c.id.clone(),
            agent: agent("alice", 1),
            now: MIN,
        })
        .await
        .unwrap();
    assert!(matches!(accepted, Accepted::Held(_)));
    let rules = [InactivityRule {
        queue: "support".into(),
        rule: InactivityConfig {
            warn_after_minutes: 2.0,
            warning: "Still there?".into(),
            end_after_minutes: 5.0,
            end_text: Some("Closing now.".into()),
            flow: None,
        },
        flow_version: None,
    }];
    assert_eq!(store.inactivity(&rules, 2 * MIN).await.unwrap().sends, 0);
    let warned = store.inactivity(&rules, 3 * MIN).await.unwrap();
    assert_eq!((warned.sends, warned.ended.len()), (1, 0));
    assert_eq!(
        store.inactivity(&rules, 4 * MIN).await.unwrap().sends,
        0,
        "warned once"
    );
    let ended = store.inactivity(&rules, 6 * MIN).await.unwrap();
    assert_eq!(ended.ended, [(Some("alice".to_string()), c.id.clone())]);
    let t = store.transcript(&c.id).await.unwrap().unwrap();
    assert_eq!(t.conversation.state, ConversationState::Ended);
    let texts: Vec<_> = t
        .messages
        .iter()
        .filter(|m| m.author == Author::Bot)
        .map(|m| m.text.clone().unwrap())
        .collect();
    assert_eq!(texts, ["Still there?", "Closing now."]);
}

pub async fn flows_and_plugins_keep_every_version(store: Arc<dyn Store>) {
    assert_eq!(
        store.publish_flow("support", "a", "h1", 1).await.unwrap(),
        (1, true)
    );
    assert_eq!(
        store.publish_flow("support", "a", "h1", 2).await.unwrap(),
        (1, false)
    );
    assert_eq!(
        store.publish_flow("support", "b", "h2", 3).await.unwrap(),
        (2, true)
    );
    assert_eq!(
        store.active_flow("support").await.unwrap().unwrap().source,
        "b"
    );
    assert_eq!(
        store
            .activate_flow("support", 1)
            .await
            .unwrap()
            .unwrap()
            .source,
        "a"
    );
    assert!(store.activate_flow("support", 9).await.unwrap().is_none());
    assert_eq!(
        store.active_flow("support").await.unwrap().unwrap().version,
        1
    );
    // Publishing the rolled-back-from source again is a new version, not a silent no-op.
    assert_eq!(
        store.publish_flow("support", "b", "h2", 4).await.unwrap(),
        (3, true)
    );
    let versions: Vec<i64> = store
        .flow_versions("support")
        .await
        .unwrap()
        .iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    assert_eq!(
        store
            .flow_version("support", 2)
            .await
            .unwrap()
            .unwrap()
            .source,
        "b"
    );
    store
        .publish_flow("after-hours", "c", "h3", 5)
        .await
        .unwrap();
    let names: Vec<String> = store
        .active_flows()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["after-hours", "support"]);

    assert_eq!(
        store
            .publish_plugin("x", "p1", "adapter", b"one", 1)
            .await
            .unwrap(),
        (1, true)
    );
    assert_eq!(
        store
            .publish_plugin("x", "p1", "adapter", b"one", 2)
            .await
            .unwrap(),
        (1, false)
    );
    assert_eq!(
        store
            .publish_plugin("x", "p2", "adapter", b"two", 3)
            .await
            .unwrap(),
        (2, true)
    );
    store.activate_plugin("x", 1).await.unwrap();
    let active = store.active_plugin("x").await.unwrap().unwrap();
    assert_eq!(
        (active.version, active.bytes.as_slice()),
        (1, b"one".as_slice())
    );
    assert_eq!(
        store.plugin_version("x", 2).await.unwrap().unwrap().hash,
        "p2"
    );
    assert!(store.active_plugin("y").await.unwrap().is_none());
}

pub async fn daily_caps_count_per_utc_day(store: Arc<dyn Store>) {
    let day = 86_400_000;
    let noon = 20_000 * day + day / 2;
    assert!(store.reserve_daily_send("x-demo", 2, noon).await.unwrap());
    assert!(store.reserve_daily_send("x-demo", 2, noon).await.unwrap());
    assert!(!store.reserve_daily_send("x-demo", 2, noon).await.unwrap());
    assert_eq!(store.sends_today("x-demo", noon).await.unwrap(), 2);
    store.release_daily_send("x-demo", noon).await.unwrap();
    assert!(store.reserve_daily_send("x-demo", 2, noon).await.unwrap());
    // Another integration, and the next UTC day, count from zero.
    assert!(store.reserve_daily_send("x-other", 2, noon).await.unwrap());
    assert_eq!(store.sends_today("x-demo", noon + day).await.unwrap(), 0);
}

pub async fn saving_an_integration_reauthorizes_it_and_wakes_its_messages(store: Arc<dyn Store>) {
    let a = deliver(&store, message("w-1", "wes", "hi"), 60 * MIN, 1).await;
    let id = store
        .queue_message(
            NewMessage::outbound(&a.id, Author::Bot, Some("one".into())),
            1,
        )
        .await
        .unwrap();
    store.claim_sends(2, 1, 1000).await.unwrap();
    store
        .record_send(
            &id,
            1,
            SendRecord::Retry {
                error: "auth: revoked".into(),
                at: 60 * MIN,
                uncount: false,
            },
            3,
        )
        .await
        .unwrap();
    store
        .set_deauthorized(INTEGRATION, "token revoked", 3)
        .await
        .unwrap();
    assert_eq!(
        store.deauthorized().await.unwrap(),
        [(INTEGRATION.to_string(), 3, "token revoked".to_string())]
    );
    store
        .save_integration(INTEGRATION, "{\"id\":\"x-demo\"}", 10)
        .await
        .unwrap();
    assert!(store.deauthorized().await.unwrap().is_empty());
    assert_eq!(
        store.saved_integrations().await.unwrap(),
        [(INTEGRATION.to_string(), "{\"id\":\"x-demo\"}".to_string())]
    );
    assert_eq!(
        store.claim_sends(10, 1, 1000).await.unwrap().len(),
        1,
        "due at once"
    );
}

pub async fn canned_responses_and_filters(store: Arc<dyn Store>) {
    let canned = Canned {
        id: "hello".into(),
        title: "Hello".into(),
        text: "Hi {{customer.name}}".into(),
    };
    store.put_canned(canned.clone()).await.unwrap();
    store
        .put_canned(Canned {
            text: "Hello {{customer.name}}".into(),
            ..canned.clone()
        })
        .await
        .unwrap();
    assert_eq!(
        store.canned().await.unwrap()[0].text,
        "Hello {{customer.name}}"
    );
    assert!(store.delete_canned("hello").await.unwrap());
    assert!(!store.delete_canned("hello").await.unwrap());
    let rule = FilterRule {
        id: "cards".into(),
        kind: "regex".into(),
        pattern: r"\d{16}".into(),
    };
    store.put_filter(rule.clone()).await.unwrap();
    assert_eq!(store.filters().await.unwrap(), [rule]);
    assert!(store.delete_filter("cards").await.unwrap());
    assert!(store.filters().await.unwrap().is_empty());
}
