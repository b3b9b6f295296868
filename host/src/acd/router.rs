//! The router worker: a routing pass (see [`crate::rules::routing`], applied by the store in
//! one transaction) when something may have changed (a new interaction, a freed agent, a
//! decline) and when the next offer expires; then the offers and withdrawals go to the agents
//! live.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::config::QueueConfig;
use crate::directory::AgentDirectory;
use crate::integrations::Integrations;
use crate::live::AgentEvents;
use crate::model::now_ms;
use crate::rules::routing::RoutingConfig;
use crate::store::{AcdStore, Routed};
use crate::wake::Wakeups;

/// The longest the router sleeps with nothing to do.
const IDLE_WAIT_MS: i64 = 30_000;

/// The router worker and what it needs.
pub struct Router {
    pub store: Arc<dyn AcdStore>,
    pub agents: Arc<AgentDirectory>,
    pub queues: Vec<QueueConfig>,
    pub integrations: Arc<Integrations>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
}

impl Router {
    /// What routing needs from the configuration and the integrations (integrations may be
    /// added at run time).
    fn config(&self) -> RoutingConfig {
        RoutingConfig {
            agents: self.agents.all(),
            queues: self
                .queues
                .iter()
                .map(|q| (q.id.clone(), q.clone()))
                .collect(),
            platforms: self.integrations.platforms(),
        }
    }

    /// Runs forever: routes when woken (a new interaction, a freed agent, a decline) and when
    /// the next offer expires; it does not poll.
    pub async fn run(self: Arc<Self>) {
        loop {
            let wake = self.wake.route.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let next = match self.store.route(&self.config(), now_ms()).await {
                Ok(routed) => {
                    let next = routed.next_expiry;
                    self.publish(routed);
                    next
                }
                Err(e) => {
                    tracing::error!("routing failed: {e:#}");
                    None
                }
            };
            // Nothing to do until woken or the next offer expires; the long wait only guards
            // against a lost wake-up.
            let wait = next.map_or(IDLE_WAIT_MS, |at| (at - now_ms()).clamp(10, IDLE_WAIT_MS));
            tokio::select! {
                _ = &mut wake => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }

    fn publish(&self, routed: Routed) {
        for (agent, conversation, reason) in routed.withdrawn {
            tracing::info!(agent = %agent, interaction = %conversation, "offer {reason}");
            self.live.publish(
                &agent,
                "offer_withdrawn",
                json!({ "interaction": conversation, "reason": reason }),
            );
            if reason == "timeout" {
                self.live
                    .publish(&agent, "presence", json!({ "presence": "not-responding" }));
            }
        }
        for offer in routed.offered {
            let c = offer.conversation;
            self.live.publish(
                &offer.agent,
                "offered",
                json!({
                    "interaction": c.id,
                    "queue": c.queue,
                    "customer_id": c.customer_id,
                    "customer": c.customer,
                    "integration": c.integration,
                    "priority": c.priority,
                    "skills": c.skills,
                    "data": c.participant_data,
                    "expires_at": offer.expires_at,
                    "transfer": offer.transfer,
                }),
            );
        }
    }
}
