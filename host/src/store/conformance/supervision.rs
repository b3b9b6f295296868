//! Conformance: what supervisors watch, and customers' history and search, and uploads.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, agent, deliver, message, queued};
use crate::model::{ConversationState, Presence};
use crate::store::api::{
    AcceptRequest, Accepted, AgentLoad, NewAttachment, QueueActivity, QueueNow, SearchQuery, Store,
};

const HOUR: i64 = 60 * MIN;

pub async fn supervisors_see_queues_now_today_and_agents_load(store: Arc<dyn Store>) {
    // Two wait in support since 10:01 and 10:02 (on the clock of this case).
    let day = 10 * HOUR;
    let first = queued(&store, "ana", "support", day + MIN).await;
    queued(&store, "ben", "support", day + 2 * MIN).await;
    let queues = ["support".to_string(), "billing".to_string()];
    assert_eq!(
        store.queues_now(&queues).await.unwrap(),
        [
            QueueNow {
                queue: "support".into(),
                waiting: 2,
                oldest_queued_at: Some(day + MIN),
            },
            QueueNow {
                queue: "billing".into(),
                waiting: 0,
                oldest_queued_at: None,
            },
        ]
    );
    // Alice answers the first after 90 s.
    store
        .set_presence("alice", Presence::Available, day)
        .await
        .unwrap();
    let accepted = store
        .accept(AcceptRequest {
            conversation: first.id.clone(),
            agent: agent("alice", 2),
            now: day + MIN + 90_000,
        })
        .await
        .unwrap();
    assert!(matches!(accepted, Accepted::Held(_)), "{accepted:?}");
    // Ben writes again after his threading window (here 1 minute): he starts anew, and the
    // interaction that waited ends unanswered.
    let fresh = deliver(
        &store,
        message("m-ben-2", "ben", "anyone there?"),
        MIN,
        day + 5 * MIN,
    )
    .await;
    assert_eq!(fresh.state, ConversationState::Flow);
    assert_eq!(store.queues_now(&queues[..1]).await.unwrap()[0].waiting, 0);
    let activity = |threshold_s: i64, since: i64| {
        let store = store.clone();
        async move {
            store
                .queue_activity(since, &[("support".to_string(), threshold_s)])
                .await
                .unwrap()
        }
    };
    let expected = |answered_within: i64| {
        vec![QueueActivity {
            queue: "support".into(),
            offered: 2,
            answered: 1,
            answered_within,
            abandoned: 1,
        }]
    };
    assert_eq!(activity(60, day).await, expected(0));
    assert_eq!(activity(90, day).await, expected(1), "90 s is within 90 s");
    // `since` counts by the hour: the same from 10:30; nothing from 11:00.
    assert_eq!(activity(90, day + 30 * MIN).await, expected(1));
    assert_eq!(
        activity(90, day + HOUR).await,
        vec![QueueActivity {
            queue: "support".into(),
            ..QueueActivity::default()
        }]
    );
    assert_eq!(
        store.agent_loads().await.unwrap(),
        [AgentLoad {
            agent: "alice".into(),
            held: 1,
            offered: 0,
            per_integration: vec![(INTEGRATION.into(), 1)],
        }]
    );
}

pub async fn history_search_and_uploads(store: Arc<dyn Store>) {
    // Cleo's first interaction ended in the flow; her second waits in billing.
    let mut first = deliver(
        &store,
        message("m-cleo-1", "cleo", "My parcel 88-431 is late"),
        0,
        MIN,
    )
    .await;
    first.state = ConversationState::Ended;
    store
        .apply_turn(crate::store::api::TurnRecord {
            lease: super::support::lease_of(&store, "cleo", MIN).await,
            conversation: first.clone(),
            replies: vec![],
            processed: None,
            now: MIN,
        })
        .await
        .unwrap();
    let second = queued(&store, "cleo", "billing", 10 * MIN).await;
    let other = queued(&store, "dan", "support", 20 * MIN).await;
    let history = store
        .customer_history(INTEGRATION, "cleo", 10)
        .await
        .unwrap();
    let ids: Vec<&str> = history.iter().map(|t| t.conversation.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "newest first");
    assert_eq!(
        history[1].messages[0].text.as_deref(),
        Some("My parcel 88-431 is late")
    );

    let search = |q: SearchQuery| {
        let store = store.clone();
        async move {
            let found = store.search(SearchQuery { limit: 50, ..q }).await.unwrap();
            assert!(!found.truncated);
            found
                .hits
                .into_iter()
                .map(|h| {
                    (
                        h.conversation.id,
                        h.matched.and_then(|m| m.text).unwrap_or_default(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // By text (any case), with the message that matched.
    assert_eq!(
        search(SearchQuery {
            text: Some("PARCEL 88".into()),
            ..SearchQuery::default()
        })
        .await,
        [(first.id.clone(), "My parcel 88-431 is late".to_string())]
    );
    // By customer id, newest first; by date.
    let by_customer: Vec<String> = search(SearchQuery {
        customer: Some("cleo".into()),
        ..SearchQuery::default()
    })
    .await
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    assert_eq!(by_customer, [second.id.clone(), first.id.clone()]);
    let in_range: Vec<String> = search(SearchQuery {
        from: Some(5 * MIN),
        to: Some(15 * MIN),
        ..SearchQuery::default()
    })
    .await
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    assert_eq!(in_range, std::slice::from_ref(&second.id));
    // An agent sees only their queues' interactions (and those they held).
    let visible: Vec<String> = search(SearchQuery {
        visible_to: Some(("bob".into(), vec!["support".into()])),
        ..SearchQuery::default()
    })
    .await
    .into_iter()
    .map(|(id, _)| id)
    .collect();
    assert_eq!(visible, std::slice::from_ref(&other.id));
    // LIKE's wildcards are plain characters.
    assert!(
        search(SearchQuery {
            text: Some("%".into()),
            ..SearchQuery::default()
        })
        .await
        .is_empty()
    );

    // An upload is kept with its bytes, under an id nobody guesses.
    let stored = store
        .put_attachment(
            NewAttachment {
                conversation: second.id.clone(),
                agent: "alice".into(),
                filename: "label.png".into(),
                mime_type: "image/png".into(),
                bytes: vec![137, 80, 78, 71],
            },
            30 * MIN,
        )
        .await
        .unwrap();
    assert!(stored.id.len() >= 32, "{}", stored.id);
    assert_eq!(
        store.attachment(&stored.id).await.unwrap(),
        Some(stored.clone())
    );
    let (meta, bytes) = store.attachment_bytes(&stored.id).await.unwrap().unwrap();
    assert_eq!((meta.size, bytes), (4, vec![137, 80, 78, 71]));
    assert!(store.attachment("att_nope").await.unwrap().is_none());
}
