//! Conformance: customer leases — one holder at a time, takeover when a lease runs out, fencing
//! of the holder that lost it, release when the work is done, timeouts under the lease.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, message};
use crate::events::InboundEvent;
use crate::model::ConversationState;
use crate::store::api::{LeaseLost, Store, ThreadMessage, TurnRecord, Work};

const LEASE: i64 = MIN;

fn thread(lease: &crate::store::api::Lease, seq: i64, id: &str, now: i64) -> ThreadMessage {
    ThreadMessage {
        lease: lease.clone(),
        integration: INTEGRATION.into(),
        seq,
        message: message(id, &lease.customer, "hi"),
        flow: "support".into(),
        flow_version: Some(1),
        window_ms: 60 * MIN,
        now,
    }
}

fn events(batch: &crate::store::api::ClaimBatch) -> Vec<(String, i64)> {
    batch
        .claimed
        .iter()
        .filter_map(|c| match &c.work {
            Work::Event(e) => Some((c.lease.holder.clone(), e.seq)),
            Work::Timeout(_) => None,
        })
        .collect()
}

pub async fn a_customer_is_worked_by_one_holder_at_a_time(store: Arc<dyn Store>) {
    let ingest = |id: &str, customer: &str, at: i64| {
        let store = store.clone();
        let event = InboundEvent::Message(message(id, customer, "hi"));
        async move { store.ingest(INTEGRATION, vec![event], at).await.unwrap() }
    };
    ingest("a-1", "ann", 1).await;
    ingest("b-1", "ben", 2).await;
    let first = store.claim_work("h1", 0, 10, 100, LEASE).await.unwrap();
    assert_eq!(first.claimed.len(), 2);
    let ann = first
        .claimed
        .iter()
        .find(|c| c.lease.customer == "ann")
        .unwrap()
        .clone();
    let seq = match &ann.work {
        Work::Event(e) => e.seq,
        Work::Timeout(_) => unreachable!(),
    };
    assert!(first.read_up_to >= seq);
    // Another holder gets nothing while h1's leases live, even for new events of h1's customers.
    ingest("a-2", "ann", 20).await;
    assert!(
        store
            .claim_work("h2", 0, 30, 100, LEASE)
            .await
            .unwrap()
            .claimed
            .is_empty()
    );
    // h1 keeps its leases alive; h2 still gets nothing past the first expiry.
    assert_eq!(store.renew_leases("h1", 40, LEASE).await.unwrap(), 2);
    assert!(
        store
            .claim_work("h2", 0, 10 + LEASE + 1, 100, LEASE)
            .await
            .unwrap()
            .claimed
            .is_empty()
    );
    // h1 goes silent: once its leases run out, h2 takes ann over with every unprocessed event,
    // under a new epoch.
    let taken = store
        .claim_work("h2", 0, 40 + LEASE + 1, 100, LEASE)
        .await
        .unwrap();
    let ann2: Vec<_> = taken
        .claimed
        .iter()
        .filter(|c| c.lease.customer == "ann")
        .collect();
    assert_eq!(ann2.len(), 2, "both of ann's events: {:?}", events(&taken));
    assert!(ann2[0].lease.epoch > ann.lease.epoch);
    // h1 comes back: every write it makes for ann is refused.
    let stale = store
        .thread_message(thread(&ann.lease, seq, "a-1", 50 + LEASE))
        .await
        .unwrap_err();
    assert!(stale.is::<LeaseLost>(), "{stale:#}");
    assert!(
        store
            .mark_processed(seq, &ann.lease, 50 + LEASE)
            .await
            .unwrap_err()
            .is::<LeaseLost>()
    );
    // h2's writes go through.
    let c = store
        .thread_message(thread(&ann2[0].lease, seq, "a-1", 60 + LEASE))
        .await
        .unwrap();
    assert_eq!(c.customer_id, "ann");
}

pub async fn two_holders_claiming_at_once_never_share_a_customer(store: Arc<dyn Store>) {
    let customers: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    for (i, customer) in customers.iter().enumerate() {
        let event = InboundEvent::Message(message(&format!("m-{i}"), customer, "hi"));
        store
            .ingest(INTEGRATION, vec![event], i as i64 + 1)
            .await
            .unwrap();
    }
    // Both read every customer and try to lease each of them at the same time.
    let (a, b) = tokio::join!(
        store.claim_work("h1", 0, 100, 100, LEASE),
        store.claim_work("h2", 0, 100, 100, LEASE)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let mut holders = std::collections::HashMap::new();
    for claimed in a.claimed.iter().chain(&b.claimed) {
        if let Some(other) = holders.insert(claimed.lease.customer.clone(), &claimed.lease) {
            panic!(
                "{} was leased to {} (epoch {}) and to {} (epoch {})",
                claimed.lease.customer,
                other.holder,
                other.epoch,
                claimed.lease.holder,
                claimed.lease.epoch
            );
        }
    }
    assert_eq!(holders.len(), customers.len(), "every customer goes to one");
    // Each holder's leases are the ones the store keeps: its writes go through.
    for claimed in a.claimed.iter().chain(&b.claimed) {
        let Work::Event(event) = &claimed.work else {
            unreachable!()
        };
        store
            .mark_processed(event.seq, &claimed.lease, 200)
            .await
            .unwrap();
    }
}

/// A holder that reads a customer's events while another holds the customer moves its cursor
/// past them; when it takes the customer over later, on a newer event, it gets the earlier ones
/// first, so the customer's messages are still worked in the order they came.
pub async fn a_taken_over_customer_s_earlier_events_come_first(store: Arc<dyn Store>) {
    let ingest = |id: &str, at: i64| {
        let store = store.clone();
        let event = InboundEvent::Message(message(id, "dee", "hi"));
        async move {
            match store.ingest(INTEGRATION, vec![event], at).await.unwrap()[0] {
                crate::model::InsertOutcome::Stored(seq) => seq,
                crate::model::InsertOutcome::Duplicate => unreachable!(),
            }
        }
    };
    let first = ingest("d-0", 1).await;
    let taken = store.claim_work("h1", 0, 2, 100, LEASE).await.unwrap();
    assert_eq!(events(&taken), vec![("h1".to_string(), first)]);
    // h2 reads dee's next event while h1 holds dee: nothing for h2, but its cursor moves on.
    let second = ingest("d-1", 3).await;
    let read = store.claim_work("h2", 0, 4, 100, LEASE).await.unwrap();
    assert!(read.claimed.is_empty(), "{:?}", events(&read));
    assert_eq!(read.read_up_to, second);
    // h1 dies with both events unprocessed; its lease runs out; dee writes again. h2's next
    // claim reads only the new event, and takes dee over with all three, oldest first.
    let third = ingest("d-2", 10 + LEASE).await;
    let next = store
        .claim_work("h2", read.read_up_to, 11 + LEASE, 100, LEASE)
        .await
        .unwrap();
    assert_eq!(
        events(&next),
        vec![
            ("h2".to_string(), first),
            ("h2".to_string(), second),
            ("h2".to_string(), third)
        ]
    );
    // Those three are h2's to work now; its next claim, renewing dee's lease, hands out only
    // what is new.
    let fourth = ingest("d-3", 12 + LEASE).await;
    let renewed = store
        .claim_work("h2", next.read_up_to, 13 + LEASE, 100, LEASE)
        .await
        .unwrap();
    assert_eq!(events(&renewed), vec![("h2".to_string(), fourth)]);
}

pub async fn a_lease_is_given_back_when_the_work_is_done(store: Arc<dyn Store>) {
    let outcomes = store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message("c-1", "cay", "hi"))],
            1,
        )
        .await
        .unwrap();
    let seq = match outcomes[0] {
        crate::model::InsertOutcome::Stored(seq) => seq,
        crate::model::InsertOutcome::Duplicate => unreachable!(),
    };
    let claimed = store.claim_work("h1", 0, 2, 100, LEASE).await.unwrap();
    let lease = claimed.claimed[0].lease.clone();
    let conversation = store
        .thread_message(thread(&lease, seq, "c-1", 3))
        .await
        .unwrap();
    assert_eq!(conversation.state, ConversationState::Flow);
    store
        .apply_turn(TurnRecord {
            lease: lease.clone(),
            conversation,
            replies: vec![],
            processed: Some(seq),
            now: 4,
        })
        .await
        .unwrap();
    // Nothing left for cay: the lease is free at once for whoever gets cay's next message.
    store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message("c-2", "cay", "again"))],
            5,
        )
        .await
        .unwrap();
    let next = store.claim_work("h2", seq, 6, 100, LEASE).await.unwrap();
    assert_eq!(next.claimed.len(), 1);
    assert_eq!(next.claimed[0].lease.holder, "h2");
    assert!(next.claimed[0].lease.epoch > lease.epoch);
}

pub async fn due_timeouts_are_claimed_under_the_customers_lease(store: Arc<dyn Store>) {
    let outcomes = store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message("t-1", "tia", "hi"))],
            1,
        )
        .await
        .unwrap();
    let seq = match outcomes[0] {
        crate::model::InsertOutcome::Stored(seq) => seq,
        crate::model::InsertOutcome::Duplicate => unreachable!(),
    };
    let lease = store
        .claim_work("h1", 0, 2, 100, LEASE)
        .await
        .unwrap()
        .claimed[0]
        .lease
        .clone();
    let mut conversation = store
        .thread_message(thread(&lease, seq, "t-1", 3))
        .await
        .unwrap();
    conversation.flow_timeout_at = Some(10 * MIN);
    store
        .apply_turn(TurnRecord {
            lease: lease.clone(),
            conversation: conversation.clone(),
            replies: vec![],
            processed: Some(seq),
            now: 4,
        })
        .await
        .unwrap();
    assert!(
        store
            .claim_work("h2", 0, 10 * MIN - 1, 100, LEASE)
            .await
            .unwrap()
            .claimed
            .is_empty(),
        "not due yet"
    );
    let due = store
        .claim_work("h2", 0, 10 * MIN, 100, LEASE)
        .await
        .unwrap();
    assert_eq!(due.claimed.len(), 1);
    assert!(matches!(&due.claimed[0].work, Work::Timeout(t) if t.conversation == conversation.id));
    assert_eq!(due.claimed[0].lease.holder, "h2");
    // While h2 holds tia, h1 cannot take the timeout too.
    assert!(
        store
            .claim_work("h1", 0, 10 * MIN + 1, 100, LEASE)
            .await
            .unwrap()
            .claimed
            .is_empty()
    );
}

pub async fn an_event_is_processed_once_and_a_turn_applies_over_its_own_version(
    store: Arc<dyn Store>,
) {
    let outcomes = store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message("d-1", "dee", "hi"))],
            1,
        )
        .await
        .unwrap();
    let seq = match outcomes[0] {
        crate::model::InsertOutcome::Stored(seq) => seq,
        crate::model::InsertOutcome::Duplicate => unreachable!(),
    };
    let lease = store
        .claim_work("h1", 0, 2, 100, LEASE)
        .await
        .unwrap()
        .claimed[0]
        .lease
        .clone();
    let read = store
        .thread_message(thread(&lease, seq, "d-1", 3))
        .await
        .unwrap();
    // Two turns computed from the same read: the first applies, the second is refused.
    let turn = |processed| TurnRecord {
        lease: lease.clone(),
        conversation: read.clone(),
        replies: vec![crate::model::NewMessage::outbound(
            &read.id,
            crate::events::Author::Bot,
            Some("reply".into()),
        )],
        processed,
        now: 4,
    };
    store.apply_turn(turn(None)).await.unwrap();
    let superseded = store.apply_turn(turn(Some(seq))).await.unwrap_err();
    assert!(
        superseded.is::<crate::store::api::Superseded>(),
        "{superseded:#}"
    );
    assert_eq!(
        store.pending_sends().await.unwrap(),
        1,
        "one reply, not two"
    );
    // The event done, a worker that got it handed again cannot thread it again.
    let fresh = store.conversation(&read.id).await.unwrap().unwrap();
    store
        .apply_turn(TurnRecord {
            lease: lease.clone(),
            conversation: fresh,
            replies: vec![],
            processed: Some(seq),
            now: 5,
        })
        .await
        .unwrap();
    let again = store.claim_work("h1", 0, 6, 100, LEASE).await.unwrap();
    assert!(again.claimed.is_empty(), "nothing left to claim");
    // dee writes again: the new event brings a lease, but the old one stays done.
    store
        .ingest(
            INTEGRATION,
            vec![InboundEvent::Message(message("d-2", "dee", "again"))],
            7,
        )
        .await
        .unwrap();
    let lease = store
        .claim_work("h1", 0, 7, 100, LEASE)
        .await
        .unwrap()
        .claimed[0]
        .lease
        .clone();
    let twice = store
        .thread_message(thread(&lease, seq, "d-1", 8))
        .await
        .unwrap_err();
    assert!(
        twice.is::<crate::store::api::AlreadyProcessed>(),
        "{twice:#}"
    );
}
