//! Plugin versions: every component published is kept; one version per name is active.

use rusqlite::{Connection, OptionalExtension, params};

/// A stored plugin version.
#[derive(Debug, Clone)]
pub struct PluginVersion {
    pub name: String,
    pub version: i64,
    pub hash: String,
    pub world: String,
    pub bytes: Vec<u8>,
    pub created_at: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PluginVersion> {
    Ok(PluginVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        hash: r.get(2)?,
        world: r.get(3)?,
        bytes: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const COLUMNS: &str = "name, version, hash, world, bytes, created_at";

/// The active version of a plugin, if one was ever stored.
pub fn active(conn: &Connection, name: &str) -> anyhow::Result<Option<PluginVersion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM plugin_versions WHERE name = ?1
             AND version = (SELECT version FROM plugin_active WHERE name = ?1)"
        ))?
        .query_row(params![name], row)
        .optional()?)
}

pub fn get(conn: &Connection, name: &str, version: i64) -> anyhow::Result<Option<PluginVersion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM plugin_versions WHERE name = ?1 AND version = ?2"
        ))?
        .query_row(params![name, version], row)
        .optional()?)
}

/// Stores the component as the active version unless it equals the active one. Returns the
/// version now active and whether it is new.
pub fn publish(
    conn: &Connection,
    name: &str,
    hash: &str,
    world: &str,
    bytes: &[u8],
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(current) = active(conn, name)?
        && current.hash == hash
    {
        return Ok((current.version, false));
    }
    let newest: Option<i64> = conn.query_row(
        "SELECT MAX(version) FROM plugin_versions WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )?;
    let version = newest.unwrap_or(0) + 1;
    conn.prepare_cached(&format!(
        "INSERT INTO plugin_versions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![name, version, hash, world, bytes, now])?;
    activate(conn, name, version)?;
    Ok((version, true))
}

pub fn activate(conn: &Connection, name: &str, version: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO plugin_active (name, version) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET version = ?2",
    )?
    .execute(params![name, version])?;
    Ok(())
}
