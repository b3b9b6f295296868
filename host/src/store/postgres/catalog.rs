//! What admins publish and keep: flow versions, plugin versions, integrations set through the
//! admin API and their deauthorization. Two hosts publishing at once never take the same version
//! number (the primary key refuses the second, whose unit runs again and finds the first).

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use super::db::{exec, row, rows, scalar, unit};
use super::{PgStore, messages};
use crate::model::{
    FlowVersion, FlowVersionInfo, PluginVersion, PluginVersionInfo, ScheduleOverride,
};
use crate::store::api::CatalogStore;

fn flow_row(r: &Row) -> anyhow::Result<FlowVersion> {
    Ok(FlowVersion {
        name: r.try_get(0)?,
        version: r.try_get(1)?,
        source: r.try_get(2)?,
        hash: r.try_get(3)?,
        created_at: r.try_get(4)?,
    })
}

async fn active_flow(c: &impl GenericClient, name: &str) -> anyhow::Result<Option<FlowVersion>> {
    row(
        c,
        "SELECT name, version, source, hash, created_at FROM flow_versions
         WHERE name = $1 AND version = COALESCE(
             (SELECT version FROM flow_active WHERE name = $1),
             (SELECT MAX(version) FROM flow_versions WHERE name = $1))",
        &[&name],
    )
    .await?
    .map(|r| flow_row(&r))
    .transpose()
}

async fn flow_version(
    c: &impl GenericClient,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<FlowVersion>> {
    row(
        c,
        "SELECT name, version, source, hash, created_at FROM flow_versions WHERE name = $1 AND version = $2",
        &[&name, &version],
    )
    .await?
    .map(|r| flow_row(&r))
    .transpose()
}

async fn activate_flow(
    c: &impl GenericClient,
    name: &str,
    version: i64,
) -> anyhow::Result<Option<FlowVersion>> {
    let Some(found) = flow_version(c, name, version).await? else {
        return Ok(None);
    };
    exec(
        c,
        "INSERT INTO flow_active (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = $2",
        &[&name, &version],
    )
    .await?;
    Ok(Some(found))
}

async fn publish_flow(
    c: &impl GenericClient,
    name: &str,
    source: &str,
    hash: &str,
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(active) = active_flow(c, name).await?
        && active.hash == hash
    {
        return Ok((active.version, false));
    }
    let newest: Option<i64> = scalar(
        c,
        "SELECT MAX(version) FROM flow_versions WHERE name = $1",
        &[&name],
    )
    .await?;
    let version = newest.unwrap_or(0) + 1;
    exec(
        c,
        "INSERT INTO flow_versions (name, version, source, hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&name, &version, &source, &hash, &now],
    )
    .await?;
    activate_flow(c, name, version).await?;
    Ok((version, true))
}

const PLUGIN_COLUMNS: &str = "name, version, hash, world, bytes, created_at";

fn plugin_row(r: &Row) -> anyhow::Result<PluginVersion> {
    Ok(PluginVersion {
        name: r.try_get(0)?,
        version: r.try_get(1)?,
        hash: r.try_get(2)?,
        world: r.try_get(3)?,
        bytes: r.try_get(4)?,
        created_at: r.try_get(5)?,
    })
}

async fn active_plugin(
    c: &impl GenericClient,
    name: &str,
) -> anyhow::Result<Option<PluginVersion>> {
    row(
        c,
        &format!(
            "SELECT {PLUGIN_COLUMNS} FROM plugin_versions WHERE name = $1
             AND version = (SELECT version FROM plugin_active WHERE name = $1)"
        ),
        &[&name],
    )
    .await?
    .map(|r| plugin_row(&r))
    .transpose()
}

async fn activate_plugin(c: &impl GenericClient, name: &str, version: i64) -> anyhow::Result<()> {
    exec(
        c,
        "INSERT INTO plugin_active (name, version) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET version = $2",
        &[&name, &version],
    )
    .await?;
    Ok(())
}

async fn publish_plugin(
    c: &impl GenericClient,
    name: &str,
    hash: &str,
    world: &str,
    bytes: &[u8],
    now: i64,
) -> anyhow::Result<(i64, bool)> {
    if let Some(current) = active_plugin(c, name).await?
        && current.hash == hash
    {
        return Ok((current.version, false));
    }
    let newest: Option<i64> = scalar(
        c,
        "SELECT MAX(version) FROM plugin_versions WHERE name = $1",
        &[&name],
    )
    .await?;
    let version = newest.unwrap_or(0) + 1;
    exec(
        c,
        &format!("INSERT INTO plugin_versions ({PLUGIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[&name, &version, &hash, &world, &bytes, &now],
    )
    .await?;
    activate_plugin(c, name, version).await?;
    Ok((version, true))
}

#[async_trait]
impl CatalogStore for PgStore {
    async fn publish_flow(
        &self,
        name: &str,
        source: &str,
        hash: &str,
        now: i64,
    ) -> anyhow::Result<(i64, bool)> {
        unit!(self.pool, |tx| publish_flow(&tx, name, source, hash, now)
            .await)
    }

    async fn activate_flow(&self, name: &str, version: i64) -> anyhow::Result<Option<FlowVersion>> {
        unit!(self.pool, |tx| activate_flow(&tx, name, version).await)
    }

    async fn flow_version(&self, name: &str, version: i64) -> anyhow::Result<Option<FlowVersion>> {
        flow_version(&self.pool.get().await?, name, version).await
    }

    async fn active_flow(&self, name: &str) -> anyhow::Result<Option<FlowVersion>> {
        active_flow(&self.pool.get().await?, name).await
    }

    async fn flow_versions(&self, name: &str) -> anyhow::Result<Vec<FlowVersionInfo>> {
        rows(
            &self.pool.get().await?,
            "SELECT version, hash, created_at FROM flow_versions WHERE name = $1 ORDER BY version",
            &[&name],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(FlowVersionInfo {
                version: r.try_get(0)?,
                hash: r.try_get(1)?,
                created_at: r.try_get(2)?,
            })
        })
        .collect()
    }

    async fn active_flows(&self) -> anyhow::Result<Vec<FlowVersion>> {
        rows(
            &self.pool.get().await?,
            "SELECT name, version, source, hash, created_at FROM flow_versions f
             WHERE version = COALESCE(
                 (SELECT version FROM flow_active a WHERE a.name = f.name),
                 (SELECT MAX(version) FROM flow_versions g WHERE g.name = f.name)) ORDER BY name",
            &[],
        )
        .await?
        .iter()
        .map(flow_row)
        .collect()
    }

    async fn publish_plugin(
        &self,
        name: &str,
        hash: &str,
        world: &str,
        bytes: &[u8],
        now: i64,
    ) -> anyhow::Result<(i64, bool)> {
        unit!(self.pool, |tx| publish_plugin(
            &tx, name, hash, world, bytes, now
        )
        .await)
    }

    async fn plugin_version(
        &self,
        name: &str,
        version: i64,
    ) -> anyhow::Result<Option<PluginVersion>> {
        row(
            &self.pool.get().await?,
            &format!(
                "SELECT {PLUGIN_COLUMNS} FROM plugin_versions WHERE name = $1 AND version = $2"
            ),
            &[&name, &version],
        )
        .await?
        .map(|r| plugin_row(&r))
        .transpose()
    }

    async fn active_plugin(&self, name: &str) -> anyhow::Result<Option<PluginVersion>> {
        active_plugin(&self.pool.get().await?, name).await
    }

    async fn activate_plugin(&self, name: &str, version: i64) -> anyhow::Result<()> {
        unit!(self.pool, |tx| activate_plugin(&tx, name, version).await)
    }

    async fn plugin_versions(&self, name: &str) -> anyhow::Result<Vec<PluginVersionInfo>> {
        rows(
            &self.pool.get().await?,
            "SELECT v.version, v.hash, v.world, v.created_at,
                    v.version = (SELECT version FROM plugin_active a WHERE a.name = v.name)
             FROM plugin_versions v WHERE v.name = $1 ORDER BY v.version",
            &[&name],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(PluginVersionInfo {
                version: r.try_get(0)?,
                hash: r.try_get(1)?,
                world: r.try_get(2)?,
                created_at: r.try_get(3)?,
                active: r.try_get::<_, Option<bool>>(4)?.unwrap_or(false),
            })
        })
        .collect()
    }

    async fn schedule_overrides(&self) -> anyhow::Result<Vec<ScheduleOverride>> {
        rows(
            &self.pool.get().await?,
            "SELECT group_id, emergency, holidays FROM schedule_overrides ORDER BY group_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let holidays: String = r.try_get(2)?;
            Ok(ScheduleOverride {
                group: r.try_get(0)?,
                emergency: r.try_get(1)?,
                holidays: serde_json::from_str(&holidays)?,
            })
        })
        .collect()
    }

    async fn save_schedule_override(
        &self,
        value: &ScheduleOverride,
        now: i64,
    ) -> anyhow::Result<()> {
        let holidays = serde_json::to_string(&value.holidays)?;
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO schedule_overrides (group_id, emergency, holidays, updated_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (group_id) DO UPDATE SET emergency = $2, holidays = $3, updated_at = $4",
                &[&value.group, &value.emergency, &holidays, &now],
            )
            .await
            .map(|_| ())
        })
    }

    async fn saved_integrations(&self) -> anyhow::Result<Vec<(String, String)>> {
        rows(
            &self.pool.get().await?,
            "SELECT id, config FROM integrations ORDER BY id",
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    async fn save_integration(&self, id: &str, config_json: &str, now: i64) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO integrations (id, config, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (id) DO UPDATE SET config = $2, updated_at = $3",
                &[&id, &config_json, &now],
            )
            .await?;
            exec(
                &tx,
                "DELETE FROM integration_status WHERE integration = $1",
                &[&id],
            )
            .await?;
            messages::wake_integration(&tx, id, now).await
        })
    }

    async fn set_deauthorized(&self, id: &str, reason: &str, now: i64) -> anyhow::Result<()> {
        unit!(self.pool, |tx| {
            exec(
                &tx,
                "INSERT INTO integration_status (integration, deauthorized_at, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (integration) DO UPDATE SET deauthorized_at = $2, reason = $3",
                &[&id, &now, &reason],
            )
            .await
            .map(|_| ())
        })
    }

    async fn deauthorized(&self) -> anyhow::Result<Vec<(String, i64, String)>> {
        rows(
            &self.pool.get().await?,
            "SELECT integration, deauthorized_at, COALESCE(reason, '') FROM integration_status
             WHERE deauthorized_at IS NOT NULL ORDER BY integration",
            &[],
        )
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
        .collect()
    }
}
