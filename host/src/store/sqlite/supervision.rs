//! What supervisors watch (see [`SupervisionStore`]): queues now (from the counts the triggers
//! keep and an index on waiting time), what they saw today (from `queue_activity`, kept by
//! triggers), and what agents hold and are offered (through indexes).

use std::collections::HashMap;

use async_trait::async_trait;
use rusqlite::{Connection, params};

use super::SqliteStore;
use crate::store::api::{AgentLoad, QueueActivity, QueueNow, SupervisionStore};

const HOUR_MS: i64 = 3_600_000;

fn queues_now(conn: &Connection, queues: &[String]) -> anyhow::Result<Vec<QueueNow>> {
    let mut waiting = conn.prepare_cached(
        "SELECT COALESCE(SUM(n), 0) FROM conversation_counts WHERE state = 'queued' AND queue = ?1",
    )?;
    let mut oldest = conn.prepare_cached(
        "SELECT MIN(queued_at) FROM conversations WHERE queue = ?1 AND state = 'queued'",
    )?;
    let mut now = Vec::with_capacity(queues.len());
    for queue in queues {
        now.push(QueueNow {
            queue: queue.clone(),
            waiting: waiting.query_row(params![queue], |r| r.get(0))?,
            oldest_queued_at: oldest.query_row(params![queue], |r| r.get(0))?,
        });
    }
    Ok(now)
}

fn queue_activity(
    conn: &Connection,
    since: i64,
    service_levels: &[(String, i64)],
) -> anyhow::Result<Vec<QueueActivity>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, SUM(n), SUM(CASE WHEN wait_s <= ?3 THEN n ELSE 0 END) FROM queue_activity
         WHERE queue = ?1 AND hour >= ?2 GROUP BY kind",
    )?;
    let hour = since.div_euclid(HOUR_MS);
    let mut all = Vec::with_capacity(service_levels.len());
    for (queue, threshold_s) in service_levels {
        let mut activity = QueueActivity {
            queue: queue.clone(),
            ..QueueActivity::default()
        };
        let rows = stmt.query_map(params![queue, hour, threshold_s], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            match row? {
                (kind, n, _) if kind == "offered" => activity.offered = n,
                (kind, n, within) if kind == "answered" => {
                    activity.answered = n;
                    activity.answered_within = within;
                }
                (kind, n, _) if kind == "abandoned" => activity.abandoned = n,
                _ => {}
            }
        }
        all.push(activity);
    }
    Ok(all)
}

fn agent_loads(conn: &Connection) -> anyhow::Result<Vec<AgentLoad>> {
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
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
        })?;
        for row in rows {
            let (agent, integration, n) = row?;
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
impl SupervisionStore for SqliteStore {
    async fn queues_now(&self, queues: &[String]) -> anyhow::Result<Vec<QueueNow>> {
        let queues = queues.to_vec();
        self.reads.call(move |c| queues_now(c, &queues)).await
    }

    async fn queue_activity(
        &self,
        since: i64,
        service_levels: &[(String, i64)],
    ) -> anyhow::Result<Vec<QueueActivity>> {
        let service_levels = service_levels.to_vec();
        self.reads
            .call(move |c| queue_activity(c, since, &service_levels))
            .await
    }

    async fn agent_loads(&self) -> anyhow::Result<Vec<AgentLoad>> {
        self.reads.call(agent_loads).await
    }
}
