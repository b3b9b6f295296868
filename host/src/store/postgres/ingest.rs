//! Storing webhooks' events in the inbox, a batch at a time (see [`Ingester`]). A platform's
//! redelivery of the same event is ignored by its dedupe key (a unique constraint, whichever
//! host the redelivery reaches).

use deadpool_postgres::{GenericClient, Pool};
use tokio::sync::{mpsc, oneshot};

use super::db::{exec, row, unit};
use crate::events::InboundEvent;
use crate::model::InsertOutcome;

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
/// others' disk flushes in turn (4 ms of waiting a webhook under the bench, where a flush takes
/// 90 µs and the CPU is the limit; where flushes are slow, the lock would limit the whole
/// cluster's intake to one flush per webhook). The webhooks that arrive while a batch commits
/// go together in the next one, under one lock and one flush; each is still answered only once
/// its events are committed.
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
        match store(&pool, &batch).await {
            Ok(outcomes) => {
                for (ingest, outcome) in batch.into_iter().zip(outcomes) {
                    let _ = ingest.stored.send(Ok(outcome));
                }
            }
            Err(e) if batch.len() == 1 => {
                let _ = batch.remove(0).stored.send(Err(e));
            }
            // Each on its own, so one webhook's failure is its own.
            Err(_) => {
                for ingest in batch {
                    let outcome = store(&pool, std::slice::from_ref(&ingest)).await;
                    let _ = ingest.stored.send(outcome.map(|mut o| o.remove(0)));
                }
            }
        }
    }
}

/// Stores the events of `batch` in one unit that holds [`INGEST_LOCK`]: each webhook's outcomes.
async fn store(pool: &Pool, batch: &[Ingest]) -> anyhow::Result<Vec<Vec<InsertOutcome>>> {
    unit!(pool, ReadCommitted, |tx| {
        exec(&tx, "SELECT pg_advisory_xact_lock($1)", &[&INGEST_LOCK]).await?;
        let mut outcomes = Vec::with_capacity(batch.len());
        for ingest in batch {
            outcomes.push(insert(&tx, &ingest.integration, &ingest.events, ingest.now).await?);
        }
        Ok(outcomes)
    })
}

/// Stores a webhook's events (in a unit that holds [`INGEST_LOCK`]).
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
