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

/// The active version: the one new conversations start on (the newest, or the one an admin
/// rolled back to).
pub fn latest(conn: &Connection, name: &str) -> anyhow::Result<Option<FlowVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, version, source, hash, created_at FROM flow_versions
             WHERE name = ?1 AND version = COALESCE(
                 (SELECT version FROM flow_active WHERE name = ?1),
                 (SELECT MAX(version) FROM flow_versions WHERE name = ?1))",
        )?
        .query_row(params![name], row)
        .optional()?)
}

fn newest(conn: &Connection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MAX(version) FROM flow_versions WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )?)
}

/// Makes `version` the one new conversations start on. Returns it, or `None` if it does not exist.
pub fn activate(
    conn: &Connection,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<FlowVersion>> {
    let Some(found) = get(conn, name, version)? else {
        return Ok(None);
    };
    conn.prepare_cached(
        "INSERT INTO flow_active (name, version) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET version = ?2",
    )?
    .execute(params![name, version])?;
    Ok(Some(found))
}

/// Every version of a flow, oldest first, without sources.
pub fn versions(conn: &Connection, name: &str) -> anyhow::Result<Vec<(i64, String, i64)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, hash, created_at FROM flow_versions WHERE name = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map(params![name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
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
    if let Some(active) = latest(conn, name)?
        && active.hash == hash
    {
        return Ok((active.version, false));
    }
    let version = newest(conn, name)?.unwrap_or(0) + 1;
    insert(conn, name, version, source, hash, now)?;
    activate(conn, name, version)?;
    Ok((version, true))
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
         WHERE version = COALESCE(
             (SELECT version FROM flow_active a WHERE a.name = f.name),
             (SELECT MAX(version) FROM flow_versions g WHERE g.name = f.name)) ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
