//! Conformance: the inbox, threading, flow turns, receipts.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, deliver, lease_of, message};
use crate::events::{Author, DeliveryStatus, InboundEvent, Receipt};
use crate::model::{ConversationState, InsertOutcome, MessageStatus, NewMessage};
use crate::store::api::{SendRecord, Store, TurnRecord};

pub async fn webhooks_stored_at_once_are_each_stored_once_in_order(store: Arc<dyn Store>) {
    // 60 webhooks at the same time, each of 20 events sent three times over (a platform
    // redelivering while the first delivery is still being stored).
    let ingests = (0..60).map(|i| {
        let store = store.clone();
        let event = InboundEvent::Message(message(&format!("dm-{}", i % 20), "42", "hi"));
        async move { store.ingest(INTEGRATION, vec![event], i).await.unwrap() }
    });
    let outcomes: Vec<InsertOutcome> = futures_util::future::join_all(ingests)
        .await
        .into_iter()
        .flatten()
        .collect();
    let stored: Vec<i64> = outcomes
        .iter()
        .filter_map(|o| match o {
            InsertOutcome::Stored(seq) => Some(*seq),
            InsertOutcome::Duplicate => None,
        })
        .collect();
    assert_eq!(stored.len(), 20, "{outcomes:?}");
    let pending = store.pending_events(0, 100).await.unwrap();
    let seqs: Vec<i64> = pending.iter().map(|e| e.seq).collect();
    let mut sorted = stored.clone();
    sorted.sort();
    assert_eq!(seqs, sorted, "every stored event is pending once, in order");
    let mut ids: Vec<String> = pending
        .iter()
        .map(|e| e.event.dedupe_key().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20);
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
    let lease = lease_of(&store, "42", 4).await;
    store
        .mark_processed(pending[0].seq, &lease, 4)
        .await
        .unwrap();
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
            lease: lease_of(&store, "ann", 4 * MIN).await,
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
            lease: lease_of(&store, "tom", 2 * MIN).await,
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

pub async fn receipts_only_move_forward_and_failed_wins(store: Arc<dyn Store>) {
    let a = deliver(&store, message("r-1", "rae", "hi"), 60 * MIN, 1).await;
    let lease = lease_of(&store, "rae", 2).await;
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
        .apply_receipt(
            INTEGRATION,
            0,
            receipt(DeliveryStatus::Read, None),
            &lease,
            4,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (read.message.as_str(), read.status),
        (id.as_str(), MessageStatus::Read)
    );
    assert_eq!(
        store
            .apply_receipt(
                INTEGRATION,
                0,
                receipt(DeliveryStatus::Delivered, None),
                &lease,
                5
            )
            .await
            .unwrap(),
        None,
        "a late `delivered` never undoes `read`"
    );
    assert_eq!(
        store
            .apply_receipt("other", 0, receipt(DeliveryStatus::Failed, None), &lease, 5)
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
            &lease,
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
