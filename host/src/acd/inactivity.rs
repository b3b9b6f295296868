//! The inactivity timer worker: twice a second, the store applies
//! [`crate::rules::inactivity`] to the conversations agents hold in queues with a rule; ended
//! ones are announced to their agents and free them for routing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::config::QueueConfig;
use crate::flows::FlowRegistry;
use crate::live::AgentEvents;
use crate::model::now_ms;
use crate::store::{AcdStore, InactivityRule};
use crate::wake::Wakeups;

/// The inactivity timer and what it needs.
pub struct InactivityTimer {
    pub store: Arc<dyn AcdStore>,
    pub queues: Vec<QueueConfig>,
    pub flows: Arc<FlowRegistry>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
}

impl InactivityTimer {
    /// Runs forever, checking every half second.
    pub async fn run(self: Arc<Self>) {
        loop {
            if let Err(e) = self.tick().await {
                tracing::error!("inactivity timer: {e:#}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn tick(&self) -> anyhow::Result<()> {
        let rules: Vec<InactivityRule> = self
            .queues
            .iter()
            .filter_map(|q| {
                let rule = q.inactivity.clone()?;
                Some(InactivityRule {
                    queue: q.id.clone(),
                    flow_version: rule
                        .flow
                        .as_deref()
                        .and_then(|f| self.flows.latest_version(f)),
                    rule,
                })
            })
            .collect();
        if rules.is_empty() {
            return Ok(());
        }
        let pass = self.store.inactivity(&rules, now_ms()).await?;
        if pass.sends > 0 {
            self.wake.wake_outbound();
        }
        for (agent, conversation) in pass.ended {
            if let Some(agent) = agent {
                self.live.publish(
                    &agent,
                    "disconnected",
                    json!({ "interaction": conversation, "reason": "inactivity" }),
                );
            }
            self.wake.wake_route();
        }
        Ok(())
    }
}
