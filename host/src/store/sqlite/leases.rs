//! Customer leases (see [`crate::store::Lease`]): taking, checking (fencing), renewing and
//! giving them back, inside the units of work that need them.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::api::{Lease, LeaseLost};

/// Takes (or renews) the lease of `customer` on `integration` for `holder` until
/// `now + lease_ms`. `None` when another holder has a live one; the flag says the lease was
/// taken now rather than renewed.
pub fn acquire(
    conn: &Connection,
    holder: &str,
    integration: &str,
    customer: &str,
    now: i64,
    lease_ms: i64,
) -> anyhow::Result<Option<(Lease, bool)>> {
    let current: Option<(String, i64, i64)> = conn
        .prepare_cached(
            "SELECT holder, epoch, until FROM customer_leases WHERE integration = ?1 AND customer = ?2",
        )?
        .query_row(params![integration, customer], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let lease = |epoch| Lease {
        holder: holder.to_string(),
        integration: integration.to_string(),
        customer: customer.to_string(),
        epoch,
    };
    match current {
        Some((owner, epoch, _)) if owner == holder => {
            conn.prepare_cached(
                "UPDATE customer_leases SET until = ?3 WHERE integration = ?1 AND customer = ?2",
            )?
            .execute(params![integration, customer, now + lease_ms])?;
            Ok(Some((lease(epoch), false)))
        }
        Some((_, _, until)) if until > now => Ok(None),
        _ => {
            let epoch: i64 = conn
                .prepare_cached("UPDATE lease_epoch SET n = n + 1 WHERE id = 1 RETURNING n")?
                .query_row([], |r| r.get(0))?;
            conn.prepare_cached(
                "INSERT INTO customer_leases (integration, customer, holder, epoch, until)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (integration, customer) DO UPDATE
                 SET holder = ?3, epoch = ?4, until = ?5",
            )?
            .execute(params![
                integration,
                customer,
                holder,
                epoch,
                now + lease_ms
            ])?;
            Ok(Some((lease(epoch), true)))
        }
    }
}

/// Fails with [`LeaseLost`] unless `lease` is still held (a lease that ran out but that nobody
/// took over is still held: nobody else can have done the work).
pub fn check(conn: &Connection, lease: &Lease) -> anyhow::Result<()> {
    let held = conn
        .prepare_cached(
            "SELECT 1 FROM customer_leases
             WHERE integration = ?1 AND customer = ?2 AND holder = ?3 AND epoch = ?4",
        )?
        .query_row(
            params![lease.integration, lease.customer, lease.holder, lease.epoch],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    if held {
        Ok(())
    } else {
        Err(LeaseLost::of(lease).into())
    }
}

/// Gives the lease back once the customer has no unprocessed event left.
pub fn release_if_idle(conn: &Connection, lease: &Lease) -> anyhow::Result<()> {
    conn.prepare_cached(
        "DELETE FROM customer_leases
         WHERE integration = ?1 AND customer = ?2 AND holder = ?3 AND epoch = ?4
           AND NOT EXISTS (SELECT 1 FROM inbox WHERE integration = ?1 AND customer_id = ?2
                           AND processed_at IS NULL)",
    )?
    .execute(params![
        lease.integration,
        lease.customer,
        lease.holder,
        lease.epoch
    ])?;
    Ok(())
}

/// Extends every lease of `holder`. Returns how many.
pub fn renew(conn: &Connection, holder: &str, now: i64, lease_ms: i64) -> anyhow::Result<usize> {
    Ok(conn
        .prepare_cached("UPDATE customer_leases SET until = ?2 WHERE holder = ?1")?
        .execute(params![holder, now + lease_ms])?)
}

/// Gives back every lease (this process is the only one that can hold any).
pub fn clear(conn: &Connection) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM customer_leases")?
        .execute([])?;
    Ok(())
}
