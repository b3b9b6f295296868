//! Agents' presence. Who the agents are comes from the configuration; what they are doing
//! right now is stored so it survives a restart.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Presence {
    /// On queue: may be offered and may accept conversations.
    Available,
    /// Signed in but not taking new conversations.
    Away,
    Offline,
    /// Set by the ACD when an offer was not answered in time; the agent gets no offers until
    /// they set themselves available again.
    NotResponding,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away => "away",
            Presence::Offline => "offline",
            Presence::NotResponding => "not-responding",
        }
    }

    fn parse(s: &str) -> Presence {
        match s {
            "available" => Presence::Available,
            "away" => Presence::Away,
            "not-responding" => Presence::NotResponding,
            _ => Presence::Offline,
        }
    }
}

pub fn set_presence(
    conn: &Connection,
    agent: &str,
    presence: Presence,
    now: i64,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO agents (id, presence, presence_since) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET presence = excluded.presence, presence_since = excluded.presence_since",
        params![agent, presence.as_str(), now],
    )?;
    Ok(())
}

/// The agent's presence and since when; an agent never seen is offline.
pub fn presence(conn: &Connection, agent: &str) -> anyhow::Result<(Presence, Option<i64>)> {
    let row: Option<(String, i64)> = conn
        .prepare_cached("SELECT presence, presence_since FROM agents WHERE id = ?1")?
        .query_row(params![agent], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((p, since)) => (Presence::parse(&p), Some(since)),
        None => (Presence::Offline, None),
    })
}

/// Every agent's presence and when they last became free (`idle_since`, or when they last set
/// their presence).
pub fn all(conn: &Connection) -> anyhow::Result<Vec<(String, Presence, i64)>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, presence, COALESCE(idle_since, presence_since) FROM agents")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Presence::parse(&r.get::<_, String>(1)?),
            r.get(2)?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The agent just became free (an interaction wrapped up): they are now the longest idle last.
pub fn set_idle_since(conn: &Connection, agent: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached("UPDATE agents SET idle_since = ?2 WHERE id = ?1")?
        .execute(params![agent, now])?;
    Ok(())
}
