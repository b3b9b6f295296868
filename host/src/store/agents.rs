//! Agents' presence. Who the agents are comes from the configuration; what they are doing
//! right now is stored so it survives a restart.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Presence {
    /// On queue: may be offered and may accept conversations.
    Available,
    /// Signed in but not taking new conversations.
    Away,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Available => "available",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }

    fn parse(s: &str) -> Presence {
        match s {
            "available" => Presence::Available,
            "away" => Presence::Away,
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
