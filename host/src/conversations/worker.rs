//! The inbox worker.
//!
//! Webhooks only store events (durably, before the platform's 2xx). This worker takes them from
//! the inbox in order and spreads them over shards by customer, so one customer's messages (and
//! their `ask` timeouts) are handled in order while different customers proceed in parallel.
//!
//! A message is handled in two units of work around the flow run: the first threads it into a
//! conversation and stores it (idempotently: a redelivered event finds it there), the second
//! stores what the flow did (its replies as pending outbound messages, its new state) and marks
//! the inbox event processed. Plugin calls (bots, data actions) run between the two, outside any
//! transaction. A crash at any point leaves the event unprocessed; on restart it runs again from
//! the same stored state.

use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::catalog::PluginCatalog;
use crate::flows::FlowRegistry;
use crate::integrations::Integrations;
use crate::live::AgentEvents;
use crate::metrics::Metrics;
use crate::model::{InboxEvent, now_ms};
use crate::schedules::Schedules;
use crate::store::Store;
use crate::wake::Wakeups;

const SHARDS: usize = 32;
const BATCH: usize = 512;

/// Work for a shard: an inbox event, or an `ask` that timed out.
enum Job {
    Inbox(InboxEvent),
    Timeout { conversation: String },
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
}

fn shard_of(integration: &str, customer: &str) -> usize {
    let mut h = DefaultHasher::new();
    (integration, customer).hash(&mut h);
    (h.finish() as usize) % SHARDS
}

impl Inbox {
    /// Runs forever: dispatches pending inbox events and due timeouts to the shard workers.
    pub async fn run(self: Arc<Self>) {
        let timeouts_in_flight: Arc<Mutex<HashSet<String>>> = Default::default();
        let shards: Vec<mpsc::Sender<Job>> = (0..SHARDS)
            .map(|_| {
                let (tx, rx) = mpsc::channel(BATCH);
                tokio::spawn(self.clone().shard(rx, timeouts_in_flight.clone()));
                tx
            })
            .collect();
        tokio::spawn(
            self.clone()
                .run_timeouts(shards.clone(), timeouts_in_flight),
        );
        let mut after = 0;
        loop {
            let wake = self.wake.inbox.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            match self.store.pending_events(after, BATCH).await {
                Ok(batch) if !batch.is_empty() => {
                    for event in batch {
                        after = event.seq;
                        let shard = shard_of(&event.integration, event.event.customer_id());
                        if shards[shard].send(Job::Inbox(event)).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!("cannot read the inbox: {e:#}"),
            }
            tokio::select! {
                _ = &mut wake => {}
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    }

    /// Runs forever: hands `ask` steps whose no-input timeout has passed to their shard.
    async fn run_timeouts(
        self: Arc<Self>,
        shards: Vec<mpsc::Sender<Job>>,
        in_flight: Arc<Mutex<HashSet<String>>>,
    ) {
        loop {
            let due = async {
                let now = now_ms();
                anyhow::Ok((
                    self.store.due_flow_timeouts(now, BATCH).await?,
                    self.store.next_flow_timeout().await?,
                ))
            }
            .await;
            let next = match due {
                Ok((due, next)) => {
                    for timeout in due {
                        if !in_flight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .insert(timeout.conversation.clone())
                        {
                            continue;
                        }
                        let job = Job::Timeout {
                            conversation: timeout.conversation,
                        };
                        let shard = shard_of(&timeout.integration, &timeout.customer_id);
                        if shards[shard].send(job).await.is_err() {
                            return;
                        }
                    }
                    next
                }
                Err(e) => {
                    tracing::error!("cannot read flow timeouts: {e:#}");
                    None
                }
            };
            let wait = next.map_or(1000, |at| (at - now_ms()).clamp(50, 1000));
            tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        }
    }

    async fn shard(
        self: Arc<Self>,
        mut jobs: mpsc::Receiver<Job>,
        timeouts_in_flight: Arc<Mutex<HashSet<String>>>,
    ) {
        while let Some(job) = jobs.recv().await {
            match job {
                Job::Inbox(event) => {
                    let mut delay = Duration::from_millis(50);
                    for attempt in 1..=3 {
                        match self.process(&event).await {
                            Ok(()) => break,
                            Err(e) if attempt < 3 => {
                                tracing::warn!(
                                    seq = event.seq,
                                    "processing an inbox event failed, retrying: {e:#}"
                                );
                                tokio::time::sleep(delay).await;
                                delay *= 4;
                            }
                            // Left unprocessed in the inbox: it is tried again at the next start.
                            Err(e) => {
                                tracing::error!(seq = event.seq, integration = %event.integration, "cannot process an inbox event: {e:#}")
                            }
                        }
                    }
                }
                Job::Timeout { conversation } => {
                    if let Err(e) = self.timeout(&conversation).await {
                        tracing::error!(conversation = %conversation, "cannot run a flow timeout: {e:#}");
                    }
                    timeouts_in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&conversation);
                }
            }
        }
    }
}
