//! Customer leases (see [`crate::store::Lease`]): taking, checking (fencing), renewing and
//! giving them back, inside the units of work that need them. The lease row is locked by the
//! unit that checks it, so a takeover waits for (or fails against) a write made under the old
//! lease: no write lands under a lease that another host has taken over.

use deadpool_postgres::GenericClient;

use super::db::{exec, row, scalar};
use crate::store::api::{Lease, LeaseLost};

/// Takes (or renews) the lease of `customer` on `integration` for `holder` until
/// `now + lease_ms`. `None` when another holder has a live one; the flag says the lease was
/// taken now rather than renewed.
pub async fn acquire(
    c: &impl GenericClient,
    holder: &str,
    integration: &str,
    customer: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<(Lease, bool)>> {
    let current = row(
        c,
        "SELECT holder, epoch, until FROM customer_leases
         WHERE integration = $1 AND customer = $2 FOR UPDATE",
        &[&integration, &customer],
    )
    .await?;
    let lease = |epoch| Lease {
        holder: holder.to_string(),
        integration: integration.to_string(),
        customer: customer.to_string(),
        epoch,
    };
    let until = now + lease_ms;
    if let Some(current) = current {
        let (owner, epoch, held_until): (String, i64, i64) = (
            current.try_get(0)?,
            current.try_get(1)?,
            current.try_get(2)?,
        );
        if owner == holder {
            exec(
                c,
                "UPDATE customer_leases SET until = $3 WHERE integration = $1 AND customer = $2",
                &[&integration, &customer, &until],
            )
            .await?;
            return Ok(Some((lease(epoch), false)));
        }
        if held_until > now {
            return Ok(None);
        }
    }
    // No lease, or one that ran out (its row locked above). A lease another host inserted since
    // is live, and stays theirs: the update only takes over one that ran out.
    let epoch: i64 = scalar(c, "SELECT nextval('lease_epoch')", &[]).await?;
    let taken = row(
        c,
        "INSERT INTO customer_leases (integration, customer, holder, epoch, until)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (integration, customer) DO UPDATE
         SET holder = EXCLUDED.holder, epoch = EXCLUDED.epoch, until = EXCLUDED.until
         WHERE customer_leases.until <= $6
         RETURNING epoch",
        &[&integration, &customer, &holder, &epoch, &until, &now],
    )
    .await?;
    Ok(taken.map(|_| (lease(epoch), true)))
}

/// Fails with [`LeaseLost`] unless `lease` is still held (a lease that ran out but that nobody
/// took over is still held: nobody else can have done the work). Locks the lease row until the
/// unit ends.
pub async fn check(c: &impl GenericClient, lease: &Lease) -> anyhow::Result<()> {
    let held = row(
        c,
        "SELECT 1 FROM customer_leases
         WHERE integration = $1 AND customer = $2 AND holder = $3 AND epoch = $4 FOR SHARE",
        &[
            &lease.integration,
            &lease.customer,
            &lease.holder,
            &lease.epoch,
        ],
    )
    .await?
    .is_some();
    if held {
        Ok(())
    } else {
        Err(LeaseLost::of(lease).into())
    }
}

/// Gives the lease back once the customer has no unprocessed event left.
pub async fn release_if_idle(c: &impl GenericClient, lease: &Lease) -> anyhow::Result<()> {
    exec(
        c,
        "DELETE FROM customer_leases
         WHERE integration = $1 AND customer = $2 AND holder = $3 AND epoch = $4
           AND NOT EXISTS (SELECT 1 FROM inbox WHERE integration = $1 AND customer_id = $2
                           AND processed_at IS NULL)",
        &[
            &lease.integration,
            &lease.customer,
            &lease.holder,
            &lease.epoch,
        ],
    )
    .await?;
    Ok(())
}

/// Extends every lease of `holder`. Returns how many.
pub async fn renew(
    c: &impl GenericClient,
    holder: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<usize> {
    let until = now + lease_ms;
    Ok(exec(
        c,
        "UPDATE customer_leases SET until = $2 WHERE holder = $1",
        &[&holder, &until],
    )
    .await? as usize)
}
