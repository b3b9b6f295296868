//! Agents and supervisors added through the admin API, seen by every host on the database.

use async_trait::async_trait;

use super::PgStore;
use super::db::{exec, row, rows, unit};
use crate::store::accounts::{AccountStore, StoredAccount, StreamTicket};

#[async_trait]
impl AccountStore for PgStore {
    async fn accounts(&self) -> anyhow::Result<Vec<StoredAccount>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, role, profile, token_hash, updated_at FROM accounts ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(StoredAccount {
                id: r.try_get(0)?,
                role: r.try_get(1)?,
                profile: r.try_get(2)?,
                token_hash: r.try_get(3)?,
                updated_at: r.try_get(4)?,
            })
        })
        .collect()
    }

    async fn save_account(&self, a: &StoredAccount) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO accounts (id, role, profile, token_hash, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE
                 SET role = $2, profile = $3, token_hash = $4, updated_at = $5",
                &[&a.id, &a.role, &a.profile, &a.token_hash, &a.updated_at],
            )
            .await
            .map(|_| ())
        })
    }

    async fn delete_account(&self, id: &str) -> anyhow::Result<bool> {
        unit!(self.pool, |tx| {
            exec(&tx, "DELETE FROM accounts WHERE id = $1", &[&id])
                .await
                .map(|n| n > 0)
        })
    }

    async fn issue_ticket(&self, t: &StreamTicket, now: i64) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "DELETE FROM stream_tickets WHERE expires_at <= $1",
                &[&now],
            )
            .await?;
            exec(
                &tx,
                "INSERT INTO stream_tickets (ticket_sha256, role, member, expires_at)
                 VALUES ($1, $2, $3, $4)",
                &[&t.sha256, &t.role, &t.member, &t.expires_at],
            )
            .await
            .map(|_| ())
        })
    }

    async fn redeem_ticket(&self, sha256: &str, now: i64) -> anyhow::Result<Option<StreamTicket>> {
        let taken = unit!(self.pool, |tx| {
            row(
                &tx,
                "DELETE FROM stream_tickets WHERE ticket_sha256 = $1
                 RETURNING ticket_sha256, role, member, expires_at",
                &[&sha256],
            )
            .await
        })?;
        let Some(r) = taken else {
            return Ok(None);
        };
        let ticket = StreamTicket {
            sha256: r.try_get(0)?,
            role: r.try_get(1)?,
            member: r.try_get(2)?,
            expires_at: r.try_get(3)?,
        };
        Ok((ticket.expires_at > now).then_some(ticket))
    }
}
