//! Conformance: claims, attempts, crash recovery, daily caps, re-authorization.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, deliver, message};
use crate::events::Author;
use crate::model::{MessageStatus, NewMessage};
use crate::store::api::{SendRecord, Store};

pub async fn a_sent_message_brings_the_next_of_its_conversation_claimed(store: Arc<dyn Store>) {
    let a = deliver(&store, message("c-1", "cat", "hi"), 60 * MIN, 1).await;
    let mut queued = Vec::new();
    for (text, at) in [("one", 1), ("two", 1), ("three", 900)] {
        let id = store
            .queue_message(
                NewMessage::outbound(&a.id, Author::Bot, Some(text.into())),
                at,
            )
            .await
            .unwrap();
        queued.push(id);
    }
    let [one, two, three] = <[String; 3]>::try_from(queued).unwrap();
    let claimed = store.claim_sends(10, 10, 1000).await.unwrap();
    assert_eq!(claimed.len(), 1, "`two` waits behind `one`");
    // The holder of an older attempt records nothing and is given nothing.
    let stale = store
        .record_sent_and_claim_next(&one, &a.id, 0, "p-0".into(), 20, 1000)
        .await
        .unwrap();
    assert!(stale.is_none());
    // `one` went out: `two` comes back claimed for its first attempt, with its conversation.
    let next = store
        .record_sent_and_claim_next(&one, &a.id, 1, "p-1".into(), 20, 1000)
        .await
        .unwrap()
        .expect("the next message of the conversation, claimed");
    assert_eq!(
        (next.message.id.as_str(), next.message.attempts),
        (two.as_str(), 1)
    );
    assert_eq!(next.message.status, MessageStatus::Sending);
    assert_eq!(next.conversation.id, a.id);
    // Claimed once: no pass takes it again while its claim lasts.
    assert!(store.claim_sends(30, 10, 1000).await.unwrap().is_empty());
    // `three` is not due before 900: sending `two` brings nothing.
    let none = store
        .record_sent_and_claim_next(&two, &a.id, 1, "p-2".into(), 40, 1000)
        .await
        .unwrap();
    assert!(none.is_none(), "a message not yet due stays for its time");
    let later = store.claim_sends(900, 10, 1000).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].message.id, three);
    let transcript = store.transcript(&a.id).await.unwrap().unwrap();
    let sent: Vec<_> = transcript
        .messages
        .iter()
        .filter(|m| m.status == MessageStatus::Sent)
        .map(|m| m.platform_id.clone().unwrap())
        .collect();
    assert_eq!(sent, ["p-1", "p-2"]);
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
