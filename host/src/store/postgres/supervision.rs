//! What supervisors watch (see [`SupervisionStore`]), mirroring the embedded engine's
//! `supervision.rs`: queues now (through the routing index on waiting conversations), what they
//! saw today (from `queue_activity`, kept by triggers, read by queue and hour), and what agents
//! hold and are offered (through indexes). Plain reads: each is one statement's snapshot.

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::PgStore;
use super::db::{row, rows};
use crate::store::api::{AgentLoad, QueueActivity, QueueNow, SupervisionStore};

const HOUR_MS: i64 = 3_600_000;

async fn queues_now(c: &impl GenericClient, queues: &[String]) -> anyhow::Result<Vec<QueueNow>> {
    let mut now = Vec::with_capacity(queues.len());
    for queue in queues {
        let r = row(
            c,
            "SELECT COUNT(*), MIN(queued_at) FROM conversations WHERE queue = $1 AND state = 'queued'",
            &[queue],
        )
        .await?
        .expect("an aggregate returns a row");
        now.push(QueueNow {
            queue: queue.clone(),
            waiting: r.try_get(0)?,
            oldest_queued_at: r.try_get(1)?,
        });
    }
    Ok(now)
}

async fn queue_activity(
    c: &impl GenericClient,
    since: i64,
    service_levels: &[(String, i64)],
) -> anyhow::Result<Vec<QueueActivity>> {
    let hour = since.div_euclid(HOUR_MS);
    let mut all = Vec::with_capacity(service_levels.len());
    for (queue, threshold_s) in service_levels {
        let mut activity = QueueActivity {
            queue: queue.clone(),
            ..QueueActivity::default()
        };
        for r in rows(
            c,
            "SELECT kind, COUNT(*), COUNT(*) FILTER (WHERE wait_s <= $3) FROM queue_activity
             WHERE queue = $1 AND hour >= $2 GROUP BY kind",
            &[queue, &hour, threshold_s],
        )
        .await?
        {
            let (kind, n, within): (String, i64, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            match kind.as_str() {
                "offered" => activity.offered = n,
                "answered" => {
                    activity.answered = n;
                    activity.answered_within = within;
                }
                "abandoned" => activity.abandoned = n,
                _ => {}
            }
        }
        all.push(activity);
    }
    Ok(all)
}

async fn agent_loads(c: &impl GenericClient) -> anyhow::Result<Vec<AgentLoad>> {
    let mut loads: HashMap<String, AgentLoad> = HashMap::new();
    for (offered, sql) in [
        (
            false,
            "SELECT agent, integration, COUNT(*) FROM conversations
             WHERE state = 'assigned' AND agent IS NOT NULL GROUP BY agent, integration",
        ),
        (
            true,
            "SELECT o.agent, c.integration, COUNT(*) FROM offers o JOIN conversations c ON c.id = o.conversation
             WHERE o.state = 'offered' GROUP BY o.agent, c.integration",
        ),
    ] {
        for r in rows(c, sql, &[]).await? {
            let (agent, integration, n): (String, String, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let load = loads.entry(agent.clone()).or_insert_with(|| AgentLoad {
                agent,
                ..AgentLoad::default()
            });
            if offered {
                load.offered += n;
            } else {
                load.held += n;
            }
            match load
                .per_integration
                .iter_mut()
                .find(|(i, _)| *i == integration)
            {
                Some((_, count)) => *count += n,
                None => load.per_integration.push((integration, n)),
            }
        }
    }
    let mut loads: Vec<AgentLoad> = loads.into_values().collect();
    loads.sort_by(|a, b| a.agent.cmp(&b.agent));
    for load in &mut loads {
        load.per_integration.sort();
    }
    Ok(loads)
}

#[async_trait]
impl SupervisionStore for PgStore {
    async fn queues_now(&self, queues: &[String]) -> anyhow::Result<Vec<QueueNow>> {
        queues_now(&self.pool.get().await?, queues).await
    }

    async fn queue_activity(
        &self,
        since: i64,
        service_levels: &[(String, i64)],
    ) -> anyhow::Result<Vec<QueueActivity>> {
        queue_activity(&self.pool.get().await?, since, service_levels).await
    }

    async fn agent_loads(&self) -> anyhow::Result<Vec<AgentLoad>> {
        agent_loads(&self.pool.get().await?).await
    }
}
