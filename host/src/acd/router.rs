//! Routing: every queued interaction is offered to one agent at a time.
//!
//! The candidates are the queue's members who are available, have every skill the transfer
//! asked for and its language, and have room (total capacity and per-channel capacity, counting
//! open offers). Among them: the transfer's preferred agents first, then the last agent who
//! handled the customer (last-agent routing), then the longest idle. Interactions are taken in
//! order of priority and waiting time, a priority point being worth a minute of waiting.
//!
//! An offer not accepted within the queue's alerting timeout sets the agent to not-responding
//! and the interaction goes to the next candidate; a declined offer does the same without
//! changing the agent's presence. Routing runs on the store thread in one transaction, so an
//! interaction can never be offered to two agents at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::app::App;
use crate::config::{AgentConfig, QueueConfig};
use crate::store::{self, Conversation, Presence};

/// A priority point is worth this much waiting.
const PRIORITY_POINT_MS: i64 = 60_000;

/// What routing needs from the configuration.
#[derive(Clone)]
pub struct RoutingConfig {
    pub agents: Vec<AgentConfig>,
    pub queues: HashMap<String, QueueConfig>,
    /// Integration id → platform (`x`, `whatsapp`, ...), for per-channel capacity.
    pub platforms: HashMap<String, String>,
}

/// What one routing pass did, for events.
#[derive(Default, Debug)]
pub struct Routed {
    /// (agent, conversation) offered now.
    pub offered: Vec<(String, Conversation, i64)>,
    /// (agent, conversation, reason) offers that ended without acceptance.
    pub withdrawn: Vec<(String, String, &'static str)>,
}

/// One routing pass. Runs on the store thread.
pub fn route(conn: &rusqlite::Connection, rc: &RoutingConfig, now: i64) -> anyhow::Result<Routed> {
    let mut routed = Routed::default();
    for (conversation, agent) in store::acd::expire_offers(conn, now)? {
        store::agents::set_presence(conn, &agent, Presence::NotResponding, now)?;
        routed.withdrawn.push((agent, conversation, "timeout"));
    }
    let agents: HashMap<String, (Presence, i64)> = store::agents::all(conn)?
        .into_iter()
        .map(|(id, presence, idle)| (id, (presence, idle)))
        .collect();

    // What each agent holds or is being offered, in total and per platform.
    let mut load: HashMap<String, (u32, HashMap<String, u32>)> = HashMap::new();
    let count = |agent: &str,
                 integration: &str,
                 load: &mut HashMap<String, (u32, HashMap<String, u32>)>| {
        let platform = rc.platforms.get(integration).cloned().unwrap_or_default();
        let entry = load.entry(agent.to_string()).or_default();
        entry.0 += 1;
        *entry.1.entry(platform).or_default() += 1;
    };
    for c in store::conversations::assigned_all(conn)? {
        if let Some(agent) = &c.agent {
            count(agent, &c.integration, &mut load);
        }
    }
    let mut offered_now: HashMap<String, String> = HashMap::new();
    for (conversation, agent) in store::acd::open_offers(conn)? {
        if let Some(c) = store::conversations::get(conn, &conversation)? {
            count(&agent, &c.integration, &mut load);
        }
        offered_now.insert(conversation, agent);
    }

    let mut waiting = store::conversations::queued_all(conn)?;
    waiting.retain(|c| !offered_now.contains_key(&c.id));
    waiting.sort_by_key(|c| {
        std::cmp::Reverse(c.priority * PRIORITY_POINT_MS + (now - c.queued_at.unwrap_or(now)))
    });
    for conversation in waiting {
        let Some(queue) = conversation.queue.as_deref() else {
            continue;
        };
        let refused =
            store::acd::refused_by(conn, &conversation.id, conversation.queued_at.unwrap_or(0))?;
        let platform = rc
            .platforms
            .get(&conversation.integration)
            .cloned()
            .unwrap_or_default();
        let eligible = |agent: &AgentConfig| {
            let (presence, _) = agents
                .get(&agent.id)
                .copied()
                .unwrap_or((Presence::Offline, 0));
            let (total, per) = load.get(&agent.id).cloned().unwrap_or_default();
            presence == Presence::Available
                && agent.queues.iter().any(|q| q == queue)
                && !refused.contains(&agent.id)
                && conversation
                    .skills
                    .iter()
                    .all(|s| agent.skills.get(s).is_some_and(|p| *p > 0))
                && conversation
                    .language
                    .as_ref()
                    .is_none_or(|l| agent.languages.iter().any(|a| a.eq_ignore_ascii_case(l)))
                && total < agent.capacity
                && agent
                    .channel_capacity
                    .get(&platform)
                    .is_none_or(|cap| per.get(&platform).copied().unwrap_or(0) < *cap)
        };
        let candidates: Vec<&AgentConfig> = rc.agents.iter().filter(|a| eligible(a)).collect();
        let by_id = |id: &str| candidates.iter().find(|a| a.id == id).copied();
        let chosen = conversation
            .preferred_agents
            .iter()
            .find_map(|id| by_id(id))
            .or_else(|| conversation.last_agent.as_deref().and_then(by_id))
            .or_else(|| {
                candidates.iter().copied().min_by_key(|a| {
                    (
                        agents.get(&a.id).map_or(i64::MAX, |(_, idle)| *idle),
                        a.id.clone(),
                    )
                })
            });
        let Some(agent) = chosen else { continue };
        let alerting = rc
            .queues
            .get(queue)
            .map_or(30.0, |q| q.alerting_timeout_seconds);
        let expires_at = now + (alerting * 1000.0) as i64;
        store::acd::create_offer(conn, &conversation.id, &agent.id, now, expires_at)?;
        count(&agent.id, &conversation.integration, &mut load);
        routed
            .offered
            .push((agent.id.clone(), conversation, expires_at));
    }
    Ok(routed)
}

/// Runs forever: routes when woken (a new interaction, a freed agent, a decline) and when the
/// next offer expires.
pub async fn run(app: Arc<App>) {
    loop {
        let wake = app.route_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let rc = app.routing_config();
        let result = app
            .store
            .call(move |c| {
                let now = store::now_ms();
                Ok((route(c, &rc, now)?, store::acd::next_expiry(c)?))
            })
            .await;
        let next = match result {
            Ok((routed, next)) => {
                publish(&app, routed);
                next
            }
            Err(e) => {
                tracing::error!("routing failed: {e:#}");
                None
            }
        };
        let wait = next.map_or(1000, |at| (at - store::now_ms()).clamp(10, 1000));
        tokio::select! {
            _ = &mut wake => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

fn publish(app: &App, routed: Routed) {
    for (agent, conversation, reason) in routed.withdrawn {
        tracing::info!(agent = %agent, interaction = %conversation, "offer {reason}");
        app.events.publish(
            &agent,
            "offer_withdrawn",
            json!({ "interaction": conversation, "reason": reason }),
        );
        if reason == "timeout" {
            app.events
                .publish(&agent, "presence", json!({ "presence": "not-responding" }));
        }
    }
    for (agent, c, expires_at) in routed.offered {
        app.events.publish(
            &agent,
            "offered",
            json!({
                "interaction": c.id,
                "queue": c.queue,
                "customer_id": c.customer_id,
                "customer": c.customer,
                "integration": c.integration,
                "priority": c.priority,
                "skills": c.skills,
                "expires_at": expires_at,
            }),
        );
    }
}
