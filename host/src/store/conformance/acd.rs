//! Conformance: accepts, routing, inactivity, agents' content.

use std::sync::Arc;

use super::support::{INTEGRATION, MIN, agent, deliver, lease_of, message, queued};
use crate::config::InactivityConfig;
use crate::events::Author;
use crate::model::{Canned, ConversationState, FilterRule, Presence};
use crate::rules::routing::RoutingConfig;
use crate::store::api::{
    AcceptRequest, Accepted, InactivityRule, Store, TransferRequest, Transferred, TurnRecord,
};

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
    // Bob declines: he is not responding either, and nobody is left.
    assert!(store.decline(&c.id, "bob", 3 * MIN).await.unwrap());
    assert!(!store.decline(&c.id, "bob", 3 * MIN).await.unwrap());
    assert_eq!(
        store.presence("bob").await.unwrap().0,
        Presence::NotResponding
    );
    assert!(
        store
            .route(&config, 3 * MIN + 1)
            .await
            .unwrap()
            .offered
            .is_empty()
    );
    assert_eq!(store.queued("support").await.unwrap().len(), 1);
    // Alice is available again: nobody else can take it, so it comes back round to her.
    store
        .set_presence("alice", Presence::Available, 4 * MIN)
        .await
        .unwrap();
    let again = store.route(&config, 4 * MIN).await.unwrap();
    assert_eq!(again.offered.len(), 1);
    assert_eq!(again.offered[0].agent, "alice");
    // She declines again; with both back, it goes to whoever refused it longest ago: Bob.
    assert!(store.decline(&c.id, "alice", 4 * MIN + 1).await.unwrap());
    for id in ["alice", "bob"] {
        store
            .set_presence(id, Presence::Available, 5 * MIN)
            .await
            .unwrap();
    }
    let round = store.route(&config, 5 * MIN).await.unwrap();
    assert_eq!(round.offered.len(), 1);
    assert_eq!(round.offered[0].agent, "bob");
}

/// What an offer carries is the conversation as stored, column for column (routing reads the
/// waiting conversations through a query of its own).
pub async fn a_routed_offer_carries_the_conversation_as_stored(store: Arc<dyn Store>) {
    let config = RoutingConfig {
        agents: vec![agent("alice", 1)],
        queues: Default::default(),
        platforms: [(INTEGRATION.to_string(), "x".to_string())].into(),
    };
    let mut c = deliver(&store, message("m-una", "una", "hi"), 72 * 60 * MIN, MIN).await;
    // Queued by a turn an hour after the customer wrote: every time differs from the others.
    let later = 60 * MIN;
    c.state = ConversationState::Queued;
    c.queue = Some("support".into());
    c.queued_at = Some(later);
    c.updated_at = later + 1;
    store
        .apply_turn(TurnRecord {
            lease: lease_of(&store, "una", later).await,
            conversation: c.clone(),
            replies: vec![],
            processed: None,
            now: later,
        })
        .await
        .unwrap();
    store
        .set_presence("alice", Presence::Available, later)
        .await
        .unwrap();
    let routed = store.route(&config, later + MIN).await.unwrap();
    assert_eq!(routed.offered.len(), 1);
    let stored = store.conversation(&c.id).await.unwrap().unwrap();
    assert_ne!(stored.last_customer_written_at, stored.updated_at);
    assert_eq!(
        serde_json::to_value(&routed.offered[0].conversation).unwrap(),
        serde_json::to_value(&stored).unwrap()
    );
}

pub async fn a_transfer_queues_the_interaction_for_the_agent_named(store: Arc<dyn Store>) {
    let config = RoutingConfig {
        agents: vec![agent("alice", 2), agent("bob", 2), agent("carol", 2)],
        queues: Default::default(),
        platforms: [(INTEGRATION.to_string(), "x".to_string())].into(),
    };
    let c = queued(&store, "tia", "support", MIN).await;
    for (id, idle) in [("alice", 0), ("carol", 10), ("bob", 20)] {
        store
            .set_presence(id, Presence::Available, idle)
            .await
            .unwrap();
    }
    let accepted = store
        .accept(AcceptRequest {
            conversation: c.id.clone(),
            agent: agent("alice", 2),
            now: 2 * MIN,
        })
        .await
        .unwrap();
    assert!(matches!(accepted, Accepted::Held(_)), "{accepted:?}");
    let request = |from: &str, conversation: &str| TransferRequest {
        conversation: conversation.into(),
        from_agent: from.into(),
        to_queue: "support".into(),
        to_agent: Some("bob".into()),
        note: Some("wants a refund for order 88".into()),
        now: 3 * MIN,
    };
    assert!(matches!(
        store.transfer(request("bob", &c.id)).await.unwrap(),
        Transferred::NotHeld
    ));
    assert!(matches!(
        store.transfer(request("alice", "nope")).await.unwrap(),
        Transferred::NotFound
    ));
    let Transferred::Done(moved) = store.transfer(request("alice", &c.id)).await.unwrap() else {
        panic!("the transfer was refused");
    };
    assert_eq!(
        (moved.state, moved.agent.clone(), moved.queued_at),
        (ConversationState::Queued, None, Some(3 * MIN))
    );
    assert!(store.assigned_to("alice").await.unwrap().is_empty());
    let transfers = store.transfers(&c.id).await.unwrap();
    assert_eq!(transfers.len(), 1);
    assert_eq!(
        transfers[0].note.as_deref(),
        Some("wants a refund for order 88")
    );
    // Bob, named, gets it (though Carol has been idle longer), with the note.
    let routed = store.route(&config, 3 * MIN).await.unwrap();
    assert_eq!(routed.offered.len(), 1);
    assert_eq!(routed.offered[0].agent, "bob");
    assert_eq!(routed.offered[0].transfer.as_ref(), Some(&transfers[0]));
    // Bob declines: it is open to the queue, Alice (who handed it over) last.
    assert!(store.decline(&c.id, "bob", 3 * MIN + 1).await.unwrap());
    let routed = store.route(&config, 3 * MIN + 2).await.unwrap();
    assert_eq!(routed.offered[0].agent, "carol");
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
