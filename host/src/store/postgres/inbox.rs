//! The inbox: every normalized event an adapter produced, stored before the webhook is
//! answered and processed afterwards. A platform's redelivery of the same event is ignored
//! here, by its dedupe key (a unique constraint, whichever host the redelivery reaches).

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::{mpsc, oneshot};

use super::db::{exec, row, rows, unit};
use super::{PgStore, conversations, leases};
use crate::events::InboundEvent;
use crate::model::{InboxEvent, InsertOutcome};
use crate::store::api::{AlreadyProcessed, ClaimBatch, Claimed, InboxStore, Lease, Work};

/// The advisory lock ingests take in turn, so events are numbered in the order they commit:
/// a claim that has read up to an event has seen every event before it, and a customer's
/// events are processed in the order they were stored, whichever hosts stored them.
const INGEST_LOCK: i64 = 0x5357_4244_0002;

/// The most webhooks' events one ingest transaction stores.
const MOST_PER_INGEST: usize = 256;

/// One webhook's events, waiting for the host's next ingest transaction.
struct Ingest {
    integration: String,
    events: Vec<InboundEvent>,
    now: i64,
    stored: oneshot::Sender<anyhow::Result<Vec<InsertOutcome>>>,
}

/// The host's ingests, stored a batch at a time. The numbering lock is held until a commit is
/// on disk, so one transaction per webhook made every webhook of every host wait for the
/// others' disk flushes in turn (4 ms a webhook under load: the limit of intake on this
/// engine). The webhooks that arrive while a batch commits go together in the next one, under
/// one lock and one flush; each is still answered only once its events are committed.
#[derive(Clone)]
pub struct Ingester {
    queue: mpsc::Sender<Ingest>,
}

impl Ingester {
    /// Starts the task that stores the batches (it ends when the last handle is dropped).
    pub fn start(pool: Pool) -> Ingester {
        let (queue, waiting) = mpsc::channel(4 * MOST_PER_INGEST);
        tokio::spawn(store_batches(pool, waiting));
        Ingester { queue }
    }

    /// Stores `events` in the next batch; their outcomes once it committed.
    pub async fn ingest(
        &self,
        integration: &str,
        events: Vec<InboundEvent>,
        now: i64,
    ) -> anyhow::Result<Vec<InsertOutcome>> {
        let (stored, outcome) = oneshot::channel();
        let ingest = Ingest {
            integration: integration.to_string(),
            events,
            now,
            stored,
        };
        let closed = || anyhow::anyhow!("the store is closing: the events were not stored");
        self.queue.send(ingest).await.map_err(|_| closed())?;
        outcome.await.map_err(|_| closed())?
    }
}

async fn store_batches(pool: Pool, mut waiting: mpsc::Receiver<Ingest>) {
    while let Some(first) = waiting.recv().await {
        let mut batch = vec![first];
        while batch.len() < MOST_PER_INGEST {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let stored = unit!(pool, ReadCommitted, |tx| {
            exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
            let mut outcomes = Vec::with_capacity(batch.len());
            for ingest in &batch {
                outcomes.push(insert(&tx, &ingest.integration, &ingest.events, ingest.now).await?);
            }
            Ok(outcomes)
        });
        match stored {
            Ok(outcomes) => {
                for (ingest, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = ingest.stored.send(Ok(outcome));
                }
            }
            // Each on its own, so one webhook's failure is its own.
            Err(_) if batch.len() > 1 => {
                for ingest in batch {
                    let outcome = unit!(pool, ReadCommitted, |tx| {
                        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
                        insert(&tx, &ingest.integration, &ingest.events, ingest.now).await
                    });
                    let _ = ingest.stored.send(outcome);
                }
            }
            Err(e) => {
                for ingest in batch {
                    let _ = ingest.stored.send(Err(anyhow::anyhow!("{e:#}")));
                }
            }
        }
    }
}

/// Stores a webhook's events, in a unit that holds [`INGEST_LOCK`].
async fn insert(
    c: &impl GenericClient,
    integration: &str,
    events: &[InboundEvent],
    now: i64,
) -> anyhow::Result<Vec<InsertOutcome>> {
    let mut outcomes = Vec::with_capacity(events.len());
    for event in events {
        let json = serde_json::to_string(event)?;
        let seq = row(
            c,
            "INSERT INTO inbox (integration, kind, dedupe_key, customer_id, event, received_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (integration, kind, dedupe_key) DO NOTHING
             RETURNING seq",
            &[
                &integration,
                &event.kind(),
                &event.dedupe_key(),
                &event.customer_id(),
                &json,
                &now,
            ],
        )
        .await?;
        outcomes.push(match seq {
            Some(r) => InsertOutcome::Stored(r.try_get(0)?),
            None => InsertOutcome::Duplicate,
        });
    }
    Ok(outcomes)
}

/// Unprocessed events after `after_seq`, oldest first.
pub async fn pending(
    c: &impl GenericClient,
    after_seq: i64,
    limit: usize,
) -> anyhow::Result<Vec<InboxEvent>> {
    let limit = limit as i64;
    let mut out = Vec::new();
    for r in rows(
        c,
        "SELECT seq, integration, event, received_at FROM inbox
         WHERE processed_at IS NULL AND seq > $1 ORDER BY seq LIMIT $2",
        &[&after_seq, &limit],
    )
    .await?
    {
        let seq: i64 = r.try_get(0)?;
        let json: String = r.try_get(2)?;
        let event = serde_json::from_str(&json)
            .map_err(|e| anyhow::anyhow!("inbox event {seq} is unreadable: {e}"))?;
        out.push(InboxEvent {
            seq,
            integration: r.try_get(1)?,
            event,
            received_at: r.try_get(3)?,
        });
    }
    Ok(out)
}

/// Claims work for `holder` (see [`InboxStore::claim_work`]).
async fn claim(
    c: &impl GenericClient,
    holder: &str,
    after_seq: i64,
    now: i64,
    limit: usize,
    lease_ms: i64,
) -> anyhow::Result<ClaimBatch> {
    let mut batch = ClaimBatch {
        claimed: Vec::new(),
        read_up_to: after_seq,
    };
    // Each customer's lease is looked at once per claim.
    let mut held: HashMap<(String, String), Option<Lease>> = HashMap::new();
    let mut work = Vec::new();
    for event in pending(c, after_seq, limit).await? {
        batch.read_up_to = batch.read_up_to.max(event.seq);
        let key = (
            event.integration.clone(),
            event.event.customer_id().to_string(),
        );
        work.push((key, Work::Event(event)));
    }
    for due in conversations::due_timeouts(c, now, limit).await? {
        let key = (due.integration.clone(), due.customer_id.clone());
        work.push((key, Work::Timeout(due)));
    }
    for ((integration, customer), work) in work {
        let key = (integration, customer);
        let lease = match held.get(&key) {
            Some(lease) => lease.clone(),
            None => {
                let lease = leases::acquire(c, holder, &key.0, &key.1, now, lease_ms).await?;
                held.insert(key, lease.clone());
                lease
            }
        };
        if let Some(lease) = lease {
            batch.claimed.push(Claimed { work, lease });
        }
    }
    Ok(batch)
}

/// Marks an event processed under `lease` (fenced), and gives the lease back when the customer
/// has nothing left to process.
pub async fn mark_processed_under(
    c: &impl GenericClient,
    seq: i64,
    lease: &Lease,
    now: i64,
) -> anyhow::Result<()> {
    leases::check(c, lease).await?;
    mark_processed_held(c, seq, lease, now).await
}

/// [`mark_processed_under`] in a unit that has checked `lease` already (and so holds its row
/// locked until it ends).
pub async fn mark_processed_held(
    c: &impl GenericClient,
    seq: i64,
    lease: &Lease,
    now: i64,
) -> anyhow::Result<()> {
    let changed = exec(
        c,
        "UPDATE inbox SET processed_at = $2 WHERE seq = $1 AND processed_at IS NULL",
        &[&seq, &now],
    )
    .await?;
    if changed == 0
        && row(c, "SELECT 1 FROM inbox WHERE seq = $1", &[&seq])
            .await?
            .is_some()
    {
        return Err(AlreadyProcessed { seq }.into());
    }
    leases::release_if_idle(c, lease).await
}

/// Fails with [`AlreadyProcessed`] when event `seq` was processed already.
pub async fn check_unprocessed(c: &impl GenericClient, seq: i64) -> anyhow::Result<()> {
    let processed = row(
        c,
        "SELECT processed_at IS NOT NULL FROM inbox WHERE seq = $1",
        &[&seq],
    )
    .await?
    .map(|r| r.try_get::<_, bool>(0))
    .transpose()?
    .unwrap_or(false);
    if processed {
        Err(AlreadyProcessed { seq }.into())
    } else {
        Ok(())
    }
}

#[async_trait]
impl InboxStore for PgStore {
    async fn ingest(
        &self,
        integration: &str,
        events: Vec<InboundEvent>,
        now: i64,
    ) -> anyhow::Result<Vec<InsertOutcome>> {
        self.ingester.ingest(integration, events, now).await
    }

    async fn pending_events(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> anyhow::Result<Vec<InboxEvent>> {
        pending(&self.pool.get().await?, after_seq, limit).await
    }

    async fn start_holder(&self, _holder: &str, _now: i64) -> anyhow::Result<()> {
        // Other hosts may hold leases now: those a previous process of this host left run out.
        Ok(())
    }

    async fn claim_work(
        &self,
        holder: &str,
        after_seq: i64,
        now: i64,
        limit: usize,
        lease_ms: i64,
    ) -> anyhow::Result<ClaimBatch> {
        unit!(self.pool, ReadCommitted, |tx| claim(
            &tx, holder, after_seq, now, limit, lease_ms
        )
        .await)
    }

    async fn renew_leases(&self, holder: &str, now: i64, lease_ms: i64) -> anyhow::Result<usize> {
        unit!(self.pool, ReadCommitted, |tx| leases::renew(
            &tx, holder, now, lease_ms
        )
        .await)
    }

    async fn mark_processed(&self, seq: i64, lease: &Lease, now: i64) -> anyhow::Result<()> {
        unit!(self.pool, ReadCommitted, |tx| mark_processed_under(
            &tx, seq, lease, now
        )
        .await)
    }
}
