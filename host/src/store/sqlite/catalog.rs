//! What admins publish and keep: flow versions, plugin versions, integrations set through the
//! admin API and their deauthorization.

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteStore;
use crate::model::{
    FlowVersion, FlowVersionInfo, PluginVersion, PluginVersionInfo, ScheduleOverride,
};
use crate::store::api::CatalogStore;

// Flows: each publish of a changed flow is a new, immutable version; a conversation keeps the
// version it started with.

fn flow_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<FlowVersion> {
    Ok(FlowVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        source: r.get(2)?,
        hash: r.get(3)?,
        created_at: r.get(4)?,
    })
}

/// The active version: the one new conversations start on (the newest_flow, or the one an admin
/// rolled back to).
pub fn active_flow(conn: &Connection, name: &str) -> anyhow::Result<Option<FlowVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, version, source, hash, created_at FROM flow_versions
             WHERE name = ?1 AND version = COALESCE(
                 (SELECT version FROM flow_active WHERE name = ?1),
                 (SELECT MAX(version) FROM flow_versions WHERE name = ?1))",
        )?
        .query_row(params![name], flow_row)
        .optional()?)
}

fn newest_flow(conn: &Connection, name: &str) -> anyhow::Result<Option<i64>> {
    Ok(conn.query_row(
        "SELECT MAX(version) FROM flow_versions WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )?)
}

/// Makes `version` the one new conversations start on. Returns it, or `None` if it does not exist.
pub fn activate_flow(
    conn: &Connection,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<FlowVersion>> {
    let Some(found) = flow_version(conn, name, version)? else {
        return Ok(None);
    };
    conn.prepare_cached(
        "INSERT INTO flow_active (name, version) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET version = ?2",
    )?
    .execute(params![name, version])?;
    Ok(Some(found))
}

/// Every version of a flow, oldest first, without sources.
pub fn flow_versions(conn: &Connection, name: &str) -> anyhow::Result<Vec<FlowVersionInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT version, hash, created_at FROM flow_versions WHERE name = ?1 ORDER BY version",
    )?;
    let rows = stmt.query_map(params![name], |r| {
        Ok(FlowVersionInfo {
            version: r.get(0)?,
            hash: r.get(1)?,
            created_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn flow_version(
    conn: &Connection,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<FlowVersion>> {
    Ok(conn
        .prepare_cached(
            "SELECT name, version, source, hash, created_at FROM flow_versions WHERE name = ?1 AND version = ?2",
        )?
        .query_row(params![name, version], flow_row)
        .optional()?)
}

/// Stores `source` as a new version unless it is identical to the latest one.
/// Returns the version that now holds this source and whether it is new.
pub fn publish_flow(
    conn: &Connection,
    name: &str,
    source: &str,
    hash: &str,
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(active) = active_flow(conn, name)?
        && active.hash == hash
    {
        return Ok((active.version, false));
    }
    let version = newest_flow(conn, name)?.unwrap_or(0) + 1;
    insert_flow(conn, name, version, source, hash, now)?;
    activate_flow(conn, name, version)?;
    Ok((version, true))
}

fn insert_flow(
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
pub fn active_flows(conn: &Connection) -> anyhow::Result<Vec<FlowVersion>> {
    let mut stmt = conn.prepare(
        "SELECT name, version, source, hash, created_at FROM flow_versions f
         WHERE version = COALESCE(
             (SELECT version FROM flow_active a WHERE a.name = f.name),
             (SELECT MAX(version) FROM flow_versions g WHERE g.name = f.name)) ORDER BY name",
    )?;
    let rows = stmt.query_map([], flow_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// Plugins: every component published is kept; one version per name is active.

fn plugin_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PluginVersion> {
    Ok(PluginVersion {
        name: r.get(0)?,
        version: r.get(1)?,
        hash: r.get(2)?,
        world: r.get(3)?,
        bytes: r.get(4)?,
        created_at: r.get(5)?,
    })
}

const PLUGIN_COLUMNS: &str = "name, version, hash, world, bytes, created_at";

/// The active version of a plugin, if one was ever stored.
pub fn active_plugin(conn: &Connection, name: &str) -> anyhow::Result<Option<PluginVersion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugin_versions WHERE name = ?1
             AND version = (SELECT version FROM plugin_active WHERE name = ?1)"
        ))?
        .query_row(params![name], plugin_row)
        .optional()?)
}

pub fn plugin_version(
    conn: &Connection,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<PluginVersion>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugin_versions WHERE name = ?1 AND version = ?2"
        ))?
        .query_row(params![name, version], plugin_row)
        .optional()?)
}

/// Stores the component as the active version unless it equals the active one. Returns the
/// version now active and whether it is new.
pub fn publish_plugin(
    conn: &Connection,
    name: &str,
    hash: &str,
    world: &str,
    bytes: &[u8],
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(current) = active_plugin(conn, name)?
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
        "INSERT INTO plugin_versions ({PLUGIN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))?
    .execute(params![name, version, hash, world, bytes, now])?;
    activate_plugin(conn, name, version)?;
    Ok((version, true))
}

pub fn activate_plugin(conn: &Connection, name: &str, version: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO plugin_active (name, version) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET version = ?2",
    )?
    .execute(params![name, version])?;
    Ok(())
}

/// Every version of a plugin, oldest first, without bytes.
pub fn plugin_versions(conn: &Connection, name: &str) -> anyhow::Result<Vec<PluginVersionInfo>> {
    let mut stmt = conn.prepare_cached(
        "SELECT v.version, v.hash, v.world, v.created_at,
                v.version = (SELECT version FROM plugin_active a WHERE a.name = v.name)
         FROM plugin_versions v WHERE v.name = ?1 ORDER BY v.version",
    )?;
    let rows = stmt.query_map(params![name], |r| {
        Ok(PluginVersionInfo {
            version: r.get(0)?,
            hash: r.get(1)?,
            world: r.get(2)?,
            created_at: r.get(3)?,
            active: r.get::<_, Option<bool>>(4)?.unwrap_or(false),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

// Schedule groups: what admins switched at run time.

pub fn schedule_overrides(conn: &Connection) -> anyhow::Result<Vec<ScheduleOverride>> {
    let mut stmt = conn.prepare_cached(
        "SELECT group_id, emergency, holidays FROM schedule_overrides ORDER BY group_id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<bool>>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (group, emergency, holidays) = row?;
        out.push(ScheduleOverride {
            group,
            emergency,
            holidays: serde_json::from_str(&holidays).unwrap_or_default(),
        });
    }
    Ok(out)
}

pub fn save_schedule_override(
    conn: &Connection,
    value: &ScheduleOverride,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO schedule_overrides (group_id, emergency, holidays, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (group_id) DO UPDATE SET emergency = ?2, holidays = ?3, updated_at = ?4",
    )?
    .execute(params![
        value.group,
        value.emergency,
        serde_json::to_string(&value.holidays)?,
        now
    ])?;
    Ok(())
}

// Integrations: deauthorization, and those admins set through the API.

pub fn set_deauthorized(
    conn: &Connection,
    integration: &str,
    reason: &str,
    now: i64,
) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integration_status (integration, deauthorized_at, reason) VALUES (?1, ?2, ?3)
         ON CONFLICT (integration) DO UPDATE SET deauthorized_at = ?2, reason = ?3",
    )?
    .execute(params![integration, now, reason])?;
    Ok(())
}

pub fn clear_deauthorized(conn: &Connection, integration: &str) -> anyhow::Result<()> {
    conn.prepare_cached("DELETE FROM integration_status WHERE integration = ?1")?
        .execute(params![integration])?;
    Ok(())
}

/// Every deauthorized integration: (id, since, reason).
pub fn deauthorized(conn: &Connection) -> anyhow::Result<Vec<(String, i64, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT integration, deauthorized_at, COALESCE(reason, '') FROM integration_status WHERE deauthorized_at IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Saves an integration set through the admin API (as JSON); it overrides the file's.
pub fn save(conn: &Connection, id: &str, config_json: &str, now: i64) -> anyhow::Result<()> {
    conn.prepare_cached(
        "INSERT INTO integrations (id, config, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET config = ?2, updated_at = ?3",
    )?
    .execute(params![id, config_json, now])?;
    Ok(())
}

pub fn saved(conn: &Connection) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT id, config FROM integrations ORDER BY id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[async_trait]
impl CatalogStore for SqliteStore {
    async fn publish_flow(
        &self,
        name: &str,
        source: &str,
        hash: &str,
        now: i64,
    ) -> anyhow::Result<(i64, bool)> {
        let (name, source, hash) = (name.to_string(), source.to_string(), hash.to_string());
        self.db
            .call(move |c| publish_flow(c, &name, &source, &hash, now))
            .await
    }

    async fn activate_flow(&self, name: &str, version: i64) -> anyhow::Result<Option<FlowVersion>> {
        let name = name.to_string();
        self.db
            .call(move |c| activate_flow(c, &name, version))
            .await
    }

    async fn flow_version(&self, name: &str, version: i64) -> anyhow::Result<Option<FlowVersion>> {
        let name = name.to_string();
        self.reads
            .call(move |c| flow_version(c, &name, version))
            .await
    }

    async fn active_flow(&self, name: &str) -> anyhow::Result<Option<FlowVersion>> {
        let name = name.to_string();
        self.reads.call(move |c| active_flow(c, &name)).await
    }

    async fn flow_versions(&self, name: &str) -> anyhow::Result<Vec<FlowVersionInfo>> {
        let name = name.to_string();
        self.reads.call(move |c| flow_versions(c, &name)).await
    }

    async fn active_flows(&self) -> anyhow::Result<Vec<FlowVersion>> {
        self.reads.call(active_flows).await
    }

    async fn publish_plugin(
        &self,
        name: &str,
        hash: &str,
        world: &str,
        bytes: &[u8],
        now: i64,
    ) -> anyhow::Result<(i64, bool)> {
        let (name, hash, world, bytes) = (
            name.to_string(),
            hash.to_string(),
            world.to_string(),
            bytes.to_vec(),
        );
        self.db
            .call(move |c| publish_plugin(c, &name, &hash, &world, &bytes, now))
            .await
    }

    async fn plugin_version(
        &self,
        name: &str,
        version: i64,
    ) -> anyhow::Result<Option<PluginVersion>> {
        let name = name.to_string();
        self.reads
            .call(move |c| plugin_version(c, &name, version))
            .await
    }

    async fn active_plugin(&self, name: &str) -> anyhow::Result<Option<PluginVersion>> {
        let name = name.to_string();
        self.reads.call(move |c| active_plugin(c, &name)).await
    }

    async fn activate_plugin(&self, name: &str, version: i64) -> anyhow::Result<()> {
        let name = name.to_string();
        self.db
            .call(move |c| activate_plugin(c, &name, version))
            .await
    }

    async fn plugin_versions(&self, name: &str) -> anyhow::Result<Vec<PluginVersionInfo>> {
        let name = name.to_string();
        self.reads.call(move |c| plugin_versions(c, &name)).await
    }

    async fn schedule_overrides(&self) -> anyhow::Result<Vec<ScheduleOverride>> {
        self.reads.call(schedule_overrides).await
    }

    async fn save_schedule_override(
        &self,
        value: &ScheduleOverride,
        now: i64,
    ) -> anyhow::Result<()> {
        let value = value.clone();
        self.db
            .call(move |c| save_schedule_override(c, &value, now))
            .await
    }

    async fn saved_integrations(&self) -> anyhow::Result<Vec<(String, String)>> {
        self.reads.call(saved).await
    }

    async fn save_integration(&self, id: &str, config_json: &str, now: i64) -> anyhow::Result<()> {
        let (id, json) = (id.to_string(), config_json.to_string());
        self.db
            .call(move |c| {
                save(c, &id, &json, now)?;
                clear_deauthorized(c, &id)?;
                super::messages::wake_integration(c, &id, now)
            })
            .await
    }

    async fn set_deauthorized(&self, id: &str, reason: &str, now: i64) -> anyhow::Result<()> {
        let (id, reason) = (id.to_string(), reason.to_string());
        self.db
            .call(move |c| set_deauthorized(c, &id, &reason, now))
            .await
    }

    async fn deauthorized(&self) -> anyhow::Result<Vec<(String, i64, String)>> {
        self.reads.call(deauthorized).await
    }
}
