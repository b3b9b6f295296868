//! What supervisors see: per queue, how many wait and for how long the longest has, what it
//! offered, answered and lost since a time (today), and its service level; per agent, presence
//! and load. Read through the store's indexes and the counts its triggers keep, so a refresh
//! every second costs little however much waits.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{QueueConfig, SupervisorConfig};
use crate::directory::AgentDirectory;
use crate::integrations::Integrations;
use crate::model::Presence;
use crate::store::Store;

const DAY_MS: i64 = 86_400_000;

/// The supervisor side of the ACD and what it needs.
pub struct Supervision {
    pub store: Arc<dyn Store>,
    pub queues: Vec<QueueConfig>,
    pub agents: Arc<AgentDirectory>,
    pub integrations: Arc<Integrations>,
}

/// One queue, now and since a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueOverview {
    pub id: String,
    pub name: String,
    pub waiting: i64,
    /// When the longest-waiting interaction entered the queue.
    pub oldest_queued_at: Option<i64>,
    pub longest_wait_ms: i64,
    pub offered: i64,
    pub answered: i64,
    pub abandoned: i64,
    /// Answered within `service_level_seconds`.
    pub answered_within: i64,
    pub service_level_seconds: u32,
    /// `answered_within / (answered + abandoned)`; none before anything was answered or lost.
    pub service_level: Option<f64>,
    /// Members available now.
    pub agents_available: usize,
    pub agents: usize,
}

/// One agent, now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentOverview {
    pub id: String,
    pub name: String,
    pub presence: Presence,
    pub queues: Vec<String>,
    pub capacity: u32,
    /// Interactions held, and offered to them now.
    pub held: i64,
    pub offered: i64,
    /// Held and offered, per platform (`x`, `whatsapp`, ...).
    pub per_channel: BTreeMap<String, i64>,
}

/// What a supervisor sees.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub now: i64,
    /// Counting offered, answered and abandoned from here (rounded down to its hour).
    pub since: i64,
    pub queues: Vec<QueueOverview>,
    pub agents: Vec<AgentOverview>,
}

/// The start of the UTC day of `now`.
pub fn start_of_day(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

impl Supervision {
    /// The queues `watcher` watches (every queue for the admin, `None`) and their members, now
    /// and since `since`.
    pub async fn overview(
        &self,
        watcher: Option<&SupervisorConfig>,
        since: i64,
        now: i64,
    ) -> anyhow::Result<Overview> {
        let queues: Vec<&QueueConfig> = self
            .queues
            .iter()
            .filter(|q| watcher.is_none_or(|w| w.watches(&q.id)))
            .collect();
        let ids: Vec<String> = queues.iter().map(|q| q.id.clone()).collect();
        let mut members: Vec<_> = self
            .agents
            .all()
            .into_iter()
            .filter(|a| a.queues.iter().any(|q| ids.contains(q)))
            .collect();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        let presence: BTreeMap<String, Presence> = self
            .store
            .presences()
            .await?
            .into_iter()
            .map(|p| (p.agent, p.presence))
            .collect();
        let presence_of = |id: &str| presence.get(id).copied().unwrap_or(Presence::Offline);
        let loads: BTreeMap<String, _> = self
            .store
            .agent_loads()
            .await?
            .into_iter()
            .map(|l| (l.agent.clone(), l))
            .collect();
        let platforms = self.integrations.platforms();
        let agents: Vec<AgentOverview> = members
            .iter()
            .map(|a| {
                let load = loads.get(&a.id);
                let mut per_channel = BTreeMap::new();
                for (integration, n) in load.map(|l| l.per_integration.as_slice()).unwrap_or(&[]) {
                    let platform = platforms
                        .get(integration)
                        .cloned()
                        .unwrap_or_else(|| integration.clone());
                    *per_channel.entry(platform).or_insert(0) += n;
                }
                AgentOverview {
                    id: a.id.clone(),
                    name: a.name.clone().unwrap_or_else(|| a.id.clone()),
                    presence: presence_of(&a.id),
                    queues: a.queues.clone(),
                    capacity: a.capacity,
                    held: load.map_or(0, |l| l.held),
                    offered: load.map_or(0, |l| l.offered),
                    per_channel,
                }
            })
            .collect();
        let now_rows = self.store.queues_now(&ids).await?;
        let levels: Vec<(String, i64)> = queues
            .iter()
            .map(|q| (q.id.clone(), q.service_level_seconds as i64))
            .collect();
        let activity = self.store.queue_activity(since, &levels).await?;
        let queues = queues
            .iter()
            .zip(now_rows)
            .zip(activity)
            .map(|((q, now_row), done)| {
                let of_queue = members.iter().filter(|a| a.queues.contains(&q.id));
                let judged = done.answered + done.abandoned;
                QueueOverview {
                    id: q.id.clone(),
                    name: q.name.clone().unwrap_or_else(|| q.id.clone()),
                    waiting: now_row.waiting,
                    oldest_queued_at: now_row.oldest_queued_at,
                    longest_wait_ms: now_row.oldest_queued_at.map_or(0, |at| (now - at).max(0)),
                    offered: done.offered,
                    answered: done.answered,
                    abandoned: done.abandoned,
                    answered_within: done.answered_within,
                    service_level_seconds: q.service_level_seconds,
                    service_level: (judged > 0)
                        .then(|| done.answered_within as f64 / judged as f64),
                    agents_available: of_queue
                        .clone()
                        .filter(|a| presence_of(&a.id) == Presence::Available)
                        .count(),
                    agents: of_queue.count(),
                }
            })
            .collect();
        Ok(Overview {
            now,
            since,
            queues,
            agents,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_starts_at_utc_midnight() {
        let noon = 20_000 * super::DAY_MS + 12 * 3_600_000;
        assert_eq!(super::start_of_day(noon), 20_000 * super::DAY_MS);
    }
}
