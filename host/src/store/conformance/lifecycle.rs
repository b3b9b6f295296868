//! Conformance: erasing a customer's data, the audit log, retention.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, count, counts, deliver, lease_of, message, queued};
use crate::events::{Author, Profile};
use crate::model::{ConversationState, NewMessage};
use crate::store::api::{NewAttachment, Store, TurnRecord};
use crate::store::lifecycle::{Erased, NewAuditEntry, Purged};

const DAY: i64 = 24 * 60 * MIN;

/// A conversation of `customer` with a bot reply and participant data, ended by a turn at `now`
/// (its event processed then).
async fn ended(store: &Arc<dyn Store>, customer: &str, text: &str, now: i64) -> String {
    let mut c = deliver(
        store,
        message(&format!("e-{customer}-{now}"), customer, text),
        0,
        now,
    )
    .await;
    let seq = store
        .pending_events(0, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.event.customer_id() == customer)
        .unwrap()
        .seq;
    c.state = ConversationState::Ended;
    c.participant_data
        .insert("email".into(), format!("{customer}@example.com").into());
    c.flow_state = Some("{\"step\":\"done\"}".into());
    store
        .apply_turn(TurnRecord {
            lease: lease_of(store, customer, now).await,
            conversation: c.clone(),
            replies: vec![NewMessage::outbound(&c.id, Author::Bot, Some("Bye".into()))],
            processed: Some(seq),
            now,
        })
        .await
        .unwrap();
    c.id
}

async fn upload(store: &Arc<dyn Store>, conversation: &str, now: i64) -> String {
    store
        .put_attachment(
            NewAttachment {
                conversation: conversation.into(),
                agent: "alice".into(),
                filename: "label.png".into(),
                mime_type: "image/png".into(),
                bytes: vec![137, 80, 78, 71],
            },
            now,
        )
        .await
        .unwrap()
        .id
}

pub async fn a_customers_data_is_erased_and_the_erasure_recorded(store: Arc<dyn Store>) {
    let first = ended(&store, "cleo", "My card ends 4242", MIN).await;
    let second = queued(&store, "cleo", "billing", 10 * MIN).await;
    let file = upload(&store, &second.id, 11 * MIN).await;
    let other = queued(&store, "dan", "support", 12 * MIN).await;

    let erased = store
        .erase_customer(INTEGRATION, "cleo", "admin", 20 * MIN)
        .await
        .unwrap();
    assert_eq!(
        erased,
        Some(Erased {
            conversations: 2,
            messages: 3,
            inbox_events: 2,
            attachments: 1,
        })
    );
    assert!(
        store
            .customer_history(INTEGRATION, "cleo", 10)
            .await
            .unwrap()
            .is_empty()
    );
    for id in [&first, &second.id] {
        let t = store.transcript(id).await.unwrap().unwrap();
        assert!(t.messages.is_empty(), "{:?}", t.messages);
        let c = t.conversation;
        assert_eq!(c.customer_id, format!("erased-{id}"));
        assert_eq!(c.customer, Profile::default());
        assert!(c.participant_data.is_empty());
        assert_eq!(c.flow_state, None);
        assert_eq!(c.state, ConversationState::Ended, "an open one ends");
    }
    assert!(store.attachment(&file).await.unwrap().is_none());
    assert!(store.queued("billing").await.unwrap().is_empty());
    // Nobody else's data is touched.
    let dan = store.transcript(&other.id).await.unwrap().unwrap();
    assert_eq!(dan.messages.len(), 1);
    assert_eq!(dan.conversation.customer_id, "dan");
    assert_eq!(store.queued("support").await.unwrap().len(), 1);
    assert!(
        store
            .pending_events(0, 100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.event.customer_id() != "cleo")
    );

    let records = store.erasures(10).await.unwrap();
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        (
            r.integration.as_str(),
            r.customer.as_str(),
            r.by.as_str(),
            r.erased_at
        ),
        (INTEGRATION, "cleo", "admin", 20 * MIN)
    );
    assert_eq!(r.erased, erased.unwrap());

    // Nothing is known of cleo any more, nor of someone never seen; neither is recorded.
    for customer in ["cleo", "nobody"] {
        assert_eq!(
            store
                .erase_customer(INTEGRATION, customer, "admin", 30 * MIN)
                .await
                .unwrap(),
            None
        );
    }
    assert_eq!(store.erasures(10).await.unwrap().len(), 1);

    // Cleo writing again starts afresh.
    let again = deliver(&store, message("c-new", "cleo", "hello again"), 0, 40 * MIN).await;
    assert!(again.id != first && again.id != second.id);
}

pub async fn the_audit_log_lists_newest_first_by_pages(store: Arc<dyn Store>) {
    assert!(store.audit(10, None).await.unwrap().is_empty());
    let mut ids = Vec::new();
    for (i, (method, target, status)) in [
        ("PUT", "/admin/v1/flows/support", 201),
        ("POST", "/admin/v1/flows/support/rollback", 404),
        ("DELETE", "/admin/v1/customers/x-demo/cleo", 200),
    ]
    .into_iter()
    .enumerate()
    {
        ids.push(
            store
                .record_audit(NewAuditEntry {
                    actor: "admin".into(),
                    method: method.into(),
                    route: "/admin/v1/...".into(),
                    target: target.into(),
                    status,
                    at: (i as i64 + 1) * MIN,
                })
                .await
                .unwrap(),
        );
    }
    assert!(ids[0] < ids[1] && ids[1] < ids[2]);
    let page = store.audit(2, None).await.unwrap();
    let seen: Vec<(&str, u16, i64)> = page
        .iter()
        .map(|e| (e.method.as_str(), e.status, e.at))
        .collect();
    assert_eq!(seen, [("DELETE", 200, 3 * MIN), ("POST", 404, 2 * MIN)]);
    assert_eq!(page[0].target, "/admin/v1/customers/x-demo/cleo");
    assert_eq!(page[0].actor, "admin");
    let rest = store.audit(2, Some(page[1].id)).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0].id, rest[0].method.as_str(), rest[0].status),
        (ids[0], "PUT", 201)
    );
}

pub async fn retention_deletes_old_events_and_messages_of_long_ended_conversations(
    store: Arc<dyn Store>,
) {
    // Ana's conversation ended on day 1, Cat's on day 10; Ben has waited since day 1.
    let ana = ended(&store, "ana", "old news", DAY).await;
    let file = upload(&store, &ana, DAY).await;
    let ben = queued(&store, "ben", "support", DAY).await;
    let cat = ended(&store, "cat", "recent", 10 * DAY).await;

    // Keeping 5 days on day 12: only Ana's processed event goes (Ben's is not processed).
    let before = 7 * DAY;
    assert_eq!(store.purge_inbox(before, 100).await.unwrap(), 1);
    assert_eq!(store.purge_inbox(before, 100).await.unwrap(), 0);
    let pending = store.pending_events(0, 100).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event.customer_id(), "ben");

    // In batches of one: Ana's message and the bot's reply, and her conversation's upload.
    assert_eq!(
        store.purge_messages(before, 1).await.unwrap(),
        Purged {
            messages: 1,
            attachments: 1
        }
    );
    assert_eq!(store.purge_messages(before, 1).await.unwrap().messages, 1);
    assert_eq!(
        store.purge_messages(before, 1).await.unwrap(),
        Purged::default()
    );
    let t = store.transcript(&ana).await.unwrap().unwrap();
    assert!(t.messages.is_empty());
    assert_eq!(t.conversation.state, ConversationState::Ended);
    assert!(store.attachment(&file).await.unwrap().is_none());
    assert_eq!(
        store
            .transcript(&ben.id)
            .await
            .unwrap()
            .unwrap()
            .messages
            .len(),
        1,
        "a waiting interaction keeps its messages however old"
    );
    assert_eq!(
        store
            .transcript(&cat)
            .await
            .unwrap()
            .unwrap()
            .messages
            .len(),
        2
    );
}

pub async fn conversations_are_counted_by_state_and_queue(store: Arc<dyn Store>) {
    assert!(counts(&store).await.is_empty());

    ended(&store, "ana", "thanks", MIN).await;
    let ben = queued(&store, "ben", "support", 2 * MIN).await;
    queued(&store, "cat", "billing", 3 * MIN).await;
    queued(&store, "dov", "billing", 4 * MIN).await;
    deliver(&store, message("b-eve", "eve", "hello"), 60 * MIN, 5 * MIN).await;
    let expected = vec![
        count("ended", None, 1),
        count("flow", None, 1),
        count("queued", Some("billing"), 2),
        count("queued", Some("support"), 1),
    ];
    assert_eq!(counts(&store).await, expected);
    // Reading again (an engine may fold what it counted meanwhile) changes nothing.
    assert_eq!(counts(&store).await, expected);

    // Ben's data is erased (his waiting conversation ends), and another conversation starts.
    store
        .erase_customer(INTEGRATION, "ben", "admin", 6 * MIN)
        .await
        .unwrap()
        .unwrap();
    deliver(&store, message("b-fay", "fay", "hi"), 60 * MIN, 7 * MIN).await;
    let after = counts(&store).await;
    let in_state = |state: &str| -> i64 {
        after
            .iter()
            .filter(|(s, _, _)| s == state)
            .map(|(_, _, n)| n)
            .sum()
    };
    assert_eq!(
        (in_state("flow"), in_state("ended"), in_state("queued")),
        (2, 2, 2),
        "{after:?}"
    );
    assert!(
        after.contains(&count("queued", Some("billing"), 2)),
        "{after:?}"
    );
    let waiting = store.conversation(&ben.id).await.unwrap().unwrap();
    assert_eq!(waiting.state, ConversationState::Ended);
}
