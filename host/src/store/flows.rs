//! Published flow versions. Each publish of a changed flow is a new, immutable version; a
//! conversation keeps the version it started with.

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, Clone)]
pub struct FlowVersion {
    pub name: String,
    pub version: i64,
    pub source: String,
    pub hash: String,
    pub created_at: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FlowVersion> {
    Ok(FlowVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        source: r.get(2)?,
        hash: r.get(3)?,
        created_at: r.get(4)?,
    })
}

pub fn latest(conn: &Connection, name: &str) -> anyhow::Result<Option<FlowVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, version, source, hash, created_at FROM flow_versions
             WHERE name = ?1 ORDER BY version DESC LIMIT 1",
        )?
        .query_row(params![name], row)
        .optional()?)
}

pub fn get(conn: &Connection, name: &str, version: i64) -> anyhow::Result<Option<FlowVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, version, source, hash, created_at FROM flow_versions WHERE name = ?1 AND version = ?2",
        )?
        .query_row(params![name, version], row)
        .optional()?)
}

/// Stores `source` as a new version unless it is identical to the latest one.
/// Returns the version that now holds this source and whether it is new.
pub fn publish(
    conn: &Connection,
    name: &str,
    source: &str,
    hash: &str,
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(latest) = latest(conn, name)? {
        if latest.hash == hash {
            return Ok((latest.version, false));
        }
        let version = latest.version + 1;
        insert(conn, name, version, source, hash, now)?;
        return Ok((version, true));
    }
    insert(conn, name, 1, source, hash, now)?;
    Ok((1, true))
}

fn insert(
    conn: &Connection,
    name: &str,
    version: i64,
    source: &str,
    hash: &str,
    now: i64,
) -> anyhow::Result<()> {
    conn.execute(
        "INSERT INTO flow_versions (name, version, source, hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, version, source, hash, now],
    )?;
    Ok(())
}

/// The latest version of every flow, by name.
pub fn list_latest(conn: &Connection) -> anyhow::Result<Vec<FlowVersion>> {
    let mut stmt = conn.prepare(
        "SELECT name, version, source, hash, created_at FROM flow_versions f
         WHERE version = (SELECT MAX(version) FROM flow_versions g WHERE g.name = f.name) ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
