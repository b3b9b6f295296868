//! The inbox worker.
//!
//! Webhooks only store events (durably, before the platform's 2xx). This worker claims work from
//! the store — unprocessed events and `ask` timeouts that are due — under per-customer leases,
//! and spreads it over shards by customer, so one customer's messages (and their timeouts) are
//! handled in order while different customers proceed in parallel. With several hosts on one
//! store, a customer's lease keeps their work on one host at a time; a host that dies loses its
//! leases when they run out, and the others take its customers over.
//!
//! A message is handled in two units of work around the flow run: the first threads it into a
//! conversation and stores it (idempotently: a redelivered event finds it there), the second
//! stores what the flow did (its replies as pending outbound messages, its new state) and marks
//! the inbox event processed. Both name the customer's lease, so a host that lost it writes
//! nothing. Plugin calls (bots, data actions) run between the two, outside any transaction. A
//! crash at any point leaves the event unprocessed; it runs again from the same stored state.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::catalog::PluginCatalog;
use crate::flows::FlowRegistry;
use crate::integrations::Integrations;
use crate::live::AgentEvents;
use crate::metrics::Metrics;
use crate::model::now_ms;
use crate::schedules::Schedules;
use crate::store::{AlreadyProcessed, Claimed, LeaseLost, Store, Superseded, Work};
use crate::wake::Wakeups;

const SHARDS: usize = 32;
const BATCH: usize = 512;
/// How long a customer's lease lasts without renewal: the time another host waits before it
/// takes over the customers of a host that died.
pub const LEASE_MS: i64 = 15_000;

/// What a job is, to know it is already handed out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Event(i64),
    Timeout(String),
}

impl Key {
    fn of(claimed: &Claimed) -> Key {
        match &claimed.work {
            Work::Event(event) => Key::Event(event.seq),
            Work::Timeout(due) => Key::Timeout(due.conversation.clone()),
        }
    }
}

/// The inbox worker and what a turn needs.
pub struct Inbox {
    pub store: Arc<dyn Store>,
    pub flows: Arc<FlowRegistry>,
    /// The schedule groups flows' `schedule` steps name, as admins switched them.
    pub schedules: Arc<Schedules>,
    pub catalog: Arc<PluginCatalog>,
    pub integrations: Arc<Integrations>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
    pub metrics: Arc<Metrics>,
    /// The name this process takes leases under (a new one per start).
    pub holder: String,
}

fn shard_of(integration: &str, customer: &str) -> usize {
    let mut h = DefaultHasher::new();
    (integration, customer).hash(&mut h);
    (h.finish() as usize) % SHARDS
}

impl Inbox {
    /// Runs forever: claims work and hands it to the shard workers.
    pub async fn run(self: Arc<Self>) {
        tracing::info!("taking customer leases as {}", self.holder);
        if let Err(e) = self.store.start_holder(&self.holder, now_ms()).await {
            tracing::error!("cannot start the inbox worker: {e:#}");
        }
        let handed: Arc<Mutex<HashSet<Key>>> = Default::default();
        let shards: Vec<mpsc::Sender<Claimed>> = (0..SHARDS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(BATCH);
                tokio::spawn(self.clone().shard(rx, handed.clone()));
                tx
            })
            .collect();
        tokio::spawn(self.clone().renew_leases());
        let mut after = 0;
        // Every few seconds the claim reads every unprocessed event again, to take over the
        // customers of a host whose leases ran out.
        let mut last_full_scan: Option<Instant> = None;
        loop {
            let wake = self.wake.inbox.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            let full = last_full_scan
                .is_none_or(|at| at.elapsed() >= Duration::from_millis(LEASE_MS as u64 / 3));
            let mut more = false;
            let result = if full {
                last_full_scan = Some(Instant::now());
                self.claim_all(&shards, &handed, &mut after).await
            } else {
                self.claim(&shards, &handed, after)
                    .await
                    .map(|(read_up_to, full_batch)| {
                        after = after.max(read_up_to);
                        more = full_batch;
                    })
            };
            match result {
                Ok(()) if more => continue,
                Ok(()) => {}
                Err(e) if e.is::<Closed>() => return,
                Err(e) => tracing::error!("cannot claim inbox work: {e:#}"),
            }
            let read = self.store.next_flow_timeout();
            let next_timeout = self.wake.timeout_due.next_due(now_ms(), read).await;
            let wait = next_timeout
                .ok()
                .flatten()
                .map_or(1000, |at| (at - now_ms()).clamp(50, 1000))
                .min(LEASE_MS / 3);
            tokio::select! {
                _ = &mut wake => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }

    /// One claim after `after`: dispatches what it took. Returns how far it read and whether it
    /// read a whole batch (more may be waiting).
    async fn claim(
        &self,
        shards: &[mpsc::Sender<Claimed>],
        handed: &Mutex<HashSet<Key>>,
        after: i64,
    ) -> anyhow::Result<(i64, bool)> {
        let batch = self
            .store
            .claim_work(&self.holder, after, now_ms(), BATCH, LEASE_MS)
            .await?;
        let full = batch.read_up_to - after >= BATCH as i64 || batch.claimed.len() >= BATCH;
        let read_up_to = batch.read_up_to;
        for claimed in batch.claimed {
            if !handed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(Key::of(&claimed))
            {
                continue;
            }
            let shard = shard_of(&claimed.lease.integration, &claimed.lease.customer);
            if shards[shard].send(claimed).await.is_err() {
                return Err(Closed.into());
            }
        }
        Ok((read_up_to, full))
    }

    /// Claims page by page from the oldest unprocessed event.
    async fn claim_all(
        &self,
        shards: &[mpsc::Sender<Claimed>],
        handed: &Mutex<HashSet<Key>>,
        after: &mut i64,
    ) -> anyhow::Result<()> {
        let mut from = 0;
        loop {
            let (read_up_to, _) = self.claim(shards, handed, from).await?;
            *after = (*after).max(read_up_to);
            if read_up_to == from {
                return Ok(());
            }
            from = read_up_to;
        }
    }

    /// Runs forever: keeps this holder's leases alive.
    async fn renew_leases(self: Arc<Self>) {
        loop {
            tokio::time::sleep(Duration::from_millis(LEASE_MS as u64 / 3)).await;
            if let Err(e) = self
                .store
                .renew_leases(&self.holder, now_ms(), LEASE_MS)
                .await
            {
                tracing::error!("cannot renew customer leases: {e:#}");
            }
        }
    }

    async fn shard(
        self: Arc<Self>,
        mut jobs: mpsc::Receiver<Claimed>,
        handed: Arc<Mutex<HashSet<Key>>>,
    ) {
        while let Some(claimed) = jobs.recv().await {
            let key = Key::of(&claimed);
            let mut delay = Duration::from_millis(50);
            for attempt in 1..=3 {
                let result = match &claimed.work {
                    Work::Event(event) => self.process(event, &claimed.lease).await,
                    Work::Timeout(due) => self.timeout(&due.conversation, &claimed.lease).await,
                };
                match result {
                    Ok(()) => break,
                    Err(e) if e.is::<LeaseLost>() => {
                        tracing::info!("work skipped: {e}; its new holder does it");
                        break;
                    }
                    // Handed out twice (a claim read it just before it was done): it is done.
                    Err(e) if e.is::<AlreadyProcessed>() || e.is::<Superseded>() => {
                        tracing::debug!("work skipped: {e}");
                        break;
                    }
                    Err(e) if attempt < 3 => {
                        tracing::warn!(job = ?key, "inbox work failed, retrying: {e:#}");
                        tokio::time::sleep(delay).await;
                        delay *= 4;
                    }
                    // Left unprocessed: the next full claim (every LEASE_MS / 3) hands it out
                    // again, so a passing store error never leaves the customer stuck behind it.
                    Err(e) => {
                        tracing::error!(job = ?key, integration = %claimed.lease.integration, "cannot do inbox work, trying again later: {e:#}");
                    }
                }
            }
            handed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
    }
}

/// The shard workers are gone (the process is stopping).
#[derive(Debug, thiserror::Error)]
#[error("the inbox shards have stopped")]
struct Closed;
