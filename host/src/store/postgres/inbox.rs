//! The inbox: every normalized event an adapter produced, stored before the webhook is
//! answered and processed afterwards. A platform's redelivery of the same event is ignored
//! here, by its dedupe key (a unique constraint, whichever host the redelivery reaches).

use std::collections::HashMap;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;

use super::db::{exec, row, rows, unit};
use super::{PgStore, conversations, leases};
use crate::events::InboundEvent;
use crate::model::{InboxEvent, InsertOutcome};
use crate::store::api::{AlreadyProcessed, ClaimBatch, Claimed, InboxStore, Lease, Work};

/// Unprocessed events after `after_seq`, oldest first.
pub async fn pending(
    c: &impl GenericClient,
    after_seq: i64,
    limit: usize,
) -> anyhow::Result<Vec<InboxEvent>> {
    let limit = limit as i64;
    rows(
        c,
        "SELECT seq, integration, event, received_at FROM inbox
         WHERE processed_at IS NULL AND seq > $1 ORDER BY seq LIMIT $2",
        &[&after_seq, &limit],
    )
    .await?
    .iter()
    .map(event_of)
    .collect()
}

/// `customer`'s unprocessed events up to `up_to`, oldest first.
async fn pending_of(
    c: &impl GenericClient,
    integration: &str,
    customer: &str,
    up_to: i64,
    limit: usize,
) -> anyhow::Result<Vec<InboxEvent>> {
    let limit = limit as i64;
    rows(
        c,
        "SELECT seq, integration, event, received_at FROM inbox
         WHERE integration = $1 AND customer_id = $2 AND processed_at IS NULL AND seq <= $3
         ORDER BY seq LIMIT $4",
        &[&integration, &customer, &up_to, &limit],
    )
    .await?
    .iter()
    .map(event_of)
    .collect()
}

/// An event from a row of `seq, integration, event, received_at`.
fn event_of(r: &tokio_postgres::Row) -> anyhow::Result<InboxEvent> {
    let json: String = r.try_get(2)?;
    InboxEvent::stored(r.try_get(0)?, r.try_get(1)?, &json, r.try_get(3)?)
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
    // Each customer's lease is looked at once per claim. A customer whose lease is taken here
    // (not renewed) gets its unprocessed events below the cursor first: a claim that read them
    // while another holder had the customer moved past them, and they come before the ones
    // read now. (A renewed lease was held when the cursor passed its events: they were
    // claimed then.)
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
                let acquired = leases::acquire(c, holder, &key.0, &key.1, now, lease_ms).await?;
                if let Some((lease, true)) = &acquired
                    && after_seq > 0
                {
                    for event in pending_of(c, &key.0, &key.1, after_seq, limit).await? {
                        batch.claimed.push(Claimed {
                            work: Work::Event(event),
                            lease: lease.clone(),
                        });
                    }
                }
                let lease = acquired.map(|(lease, _)| lease);
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
