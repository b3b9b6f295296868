//! Agents and supervisors added through the admin API.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::store::accounts::{AccountStore, StoredAccount, StreamTicket};

fn accounts(conn: &Connection) -> anyhow::Result<Vec<StoredAccount>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, role, profile, token_hash, updated_at FROM accounts ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StoredAccount {
            id: r.get(0)?,
            role: r.get(1)?,
            profile: r.get(2)?,
            token_hash: r.get(3)?,
            updated_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn save_account(conn: &Connection, a: &StoredAccount) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO accounts (id, role, profile, token_hash, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET role = ?2, profile = ?3, token_hash = ?4, updated_at = ?5",
    )?
    .execute(params![a.id, a.role, a.profile, a.token_hash, a.updated_at])?;
    Ok(())
}

fn delete_account(conn: &Connection, id: &str) -> anyhow::Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM accounts WHERE id = ?1")?
        .execute(params![id])?
        > 0)
}

fn issue_ticket(conn: &Connection, t: &StreamTicket, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM stream_tickets WHERE expires_at <= ?1")?
        .execute(params![now])?;
    conn.prepare_cached(
        "INSERT INTO stream_tickets (ticket_sha256, role, member, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![t.sha256, t.role, t.member, t.expires_at])?;
    Ok(())
}

fn redeem_ticket(
    conn: &Connection,
    sha256: &str,
    now: i64,
) -> anyhow::Result<Option<StreamTicket>> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM stream_tickets WHERE ticket_sha256 = ?1
             RETURNING ticket_sha256, role, member, expires_at",
        )?
        .query_row(params![sha256], |r| {
            Ok(StreamTicket {
                sha256: r.get(0)?,
                role: r.get(1)?,
                member: r.get(2)?,
                expires_at: r.get(3)?,
            })
        })
        .optional()?
        .filter(|t| t.expires_at > now))
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn accounts(&self) -> anyhow::Result<Vec<StoredAccount>> {
        self.reads.call(accounts).await
    }

    async fn save_account(&self, account: &StoredAccount) -> anyhow::Result<()> {
        let account = account.clone();
        self.db.call(move |c| save_account(c, &account)).await
    }

    async fn delete_account(&self, id: &str) -> anyhow::Result<bool> {
        let id = id.to_string();
        self.db.call(move |c| delete_account(c, &id)).await
    }

    async fn issue_ticket(&self, ticket: &StreamTicket, now: i64) -> anyhow::Result<()> {
        let ticket = ticket.clone();
        self.db.call(move |c| issue_ticket(c, &ticket, now)).await
    }

    async fn redeem_ticket(&self, sha256: &str, now: i64) -> anyhow::Result<Option<StreamTicket>> {
        let sha256 = sha256.to_string();
        self.db.call(move |c| redeem_ticket(c, &sha256, now)).await
    }
}
