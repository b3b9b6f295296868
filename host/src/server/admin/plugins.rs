//! `/admin/v1/plugins`: list, hot-load (component bytes), roll back, and seed a flow plugin's
//! key-value store.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::flows::RollbackBody;
use super::state::AdminState;
use crate::catalog::world_of;
use crate::deploy::PluginPublishError;
use crate::server::error::{ApiError, ApiResult, json_body};

/// The largest component `PUT /admin/v1/plugins/{name}` accepts (JavaScript and Python
/// components are 12-18 MB).
const MAX_PLUGIN_BYTES: usize = 64 * 1024 * 1024;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/plugins", get(list_plugins))
        .route(
            "/admin/v1/plugins/{name}",
            get(plugin_versions)
                .put(put_plugin)
                .layer(DefaultBodyLimit::max(MAX_PLUGIN_BYTES)),
        )
        .route("/admin/v1/plugins/{name}/rollback", post(rollback_plugin))
        .route(
            "/admin/v1/plugins/{name}/kv/{key}",
            get(get_plugin_kv)
                .put(put_plugin_kv)
                .delete(delete_plugin_kv),
        )
}

async fn list_plugins(State(state): State<AdminState>) -> ApiResult {
    let catalog = &state.deployer.catalog;
    let mut seen = std::collections::BTreeMap::new();
    for integration in state.deployer.integrations.all() {
        let a = &integration.adapter;
        seen.entry(a.name().to_string()).or_insert_with(|| {
            json!({
                "name": a.name(),
                "world": "adapter",
                "wit": format!("switchboard:channel@{}", a.wit_version()),
                "hash": a.hash(),
                "platform": a.info().platform,
                "text_limit": a.info().text_limit,
                "version": catalog.meta(a.name()).map(|m| m.version),
                "loaded_at": catalog.meta(a.name()).map(|m| m.loaded_at),
                "grants": limits_json(a.limits(), None),
                "asks": a.manifest(),
            })
        });
    }
    for (name, plugin) in catalog.flow_plugins() {
        seen.insert(
            name.clone(),
            json!({
                "name": name,
                "world": world_of(&plugin),
                "wit": format!("switchboard:flow@{}", plugin.wit_version()),
                "hash": plugin.hash(),
                "grants": limits_json(plugin.limits(), Some(&plugin.grant().http_hosts)),
                "asks": plugin.manifest(),
                "version": catalog.meta(&name).map(|m| m.version),
                "loaded_at": catalog.meta(&name).map(|m| m.loaded_at),
            }),
        );
    }
    Ok(axum::Json(json!({ "plugins": seen.into_values().collect::<Vec<_>>() })).into_response())
}

/// What a plugin is granted, in the units of the configuration.
fn limits_json(limits: crate::runtime::Limits, http_hosts: Option<&[String]>) -> Value {
    let mut grants = json!({
        "memory_mib": limits.memory_bytes / (1024 * 1024),
        "deadline_ms": limits.deadline.as_millis() as u64,
        "max_output_bytes": limits.max_output_bytes,
    });
    if let Some(hosts) = http_hosts {
        grants["http_hosts"] = json!(hosts);
    }
    grants
}

fn publish_error(e: PluginPublishError) -> ApiError {
    match e {
        PluginPublishError::Refused(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_plugin", m)
        }
        PluginPublishError::NotFound(m) => ApiError::not_found(m),
    }
}

/// `PUT /admin/v1/plugins/{name}`: the component's bytes. 201 with the new version (200 when it
/// is the active one already); 422 with the reason when it is refused (the old one serves on).
async fn put_plugin(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let valid = crate::config::is_plugin_name(&name);
    if !valid {
        return Err(ApiError::bad_request(
            "a plugin name is letters, digits, `-` and `_` (and `/` between folders), at most 128 characters",
        ));
    }
    let published = state
        .deployer
        .publish_plugin(&name, body.to_vec())
        .await
        .map_err(publish_error)?;
    let status = if published.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, axum::Json(json!({ "name": name, "version": published.version, "world": published.world, "wit": published.wit, "hash": published.hash }))).into_response())
}

/// `GET /admin/v1/plugins/{name}`: every stored version, oldest first, and which one runs, so an
/// admin knows what to roll back to.
async fn plugin_versions(State(state): State<AdminState>, Path(name): Path<String>) -> ApiResult {
    let versions = state.store.plugin_versions(&name).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!("no plugin `{name}` is stored")));
    }
    let active = versions.iter().find(|v| v.active).map(|v| v.version);
    Ok(axum::Json(json!({ "name": name, "active": active, "versions": versions })).into_response())
}

async fn rollback_plugin(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: RollbackBody = json_body(&body)?;
    let published = state
        .deployer
        .rollback_plugin(&name, body.version)
        .await
        .map_err(publish_error)?;
    Ok(axum::Json(json!({ "name": name, "version": published.version, "world": published.world, "hash": published.hash })).into_response())
}

/// `PUT /admin/v1/plugins/{name}/kv/{key}`: seeds a flow plugin's key-value store (the body is
/// the value, as text).
async fn put_plugin_kv(
    State(state): State<AdminState>,
    Path((name, key)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    if state.deployer.catalog.flow_plugin(&name).is_none() {
        return Err(ApiError::not_found(format!(
            "no flow plugin `{name}` is loaded"
        )));
    }
    let value = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("the value must be UTF-8 text"))?;
    // Over the limits is the caller's mistake (422), not the store's (500).
    crate::store::plugin_kv::check_kv_entry(&key, &value).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_kv_entry",
            e.to_string(),
        )
    })?;
    state
        .deployer
        .catalog
        .runtime()
        .kv_store()
        .set(&name, &key, &value)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /admin/v1/plugins/{name}/kv/{key}`: removes one entry of a flow plugin's key-value
/// store (404 when there is none).
async fn delete_plugin_kv(
    State(state): State<AdminState>,
    Path((name, key)): Path<(String, String)>,
) -> ApiResult {
    let removed = state
        .deployer
        .catalog
        .runtime()
        .kv_store()
        .delete(&name, &key)
        .await?;
    match removed {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(ApiError::not_found(format!(
            "plugin `{name}` has no key `{key}`"
        ))),
    }
}

async fn get_plugin_kv(
    State(state): State<AdminState>,
    Path((name, key)): Path<(String, String)>,
) -> ApiResult {
    match state
        .deployer
        .catalog
        .runtime()
        .kv_store()
        .get(&name, &key)
        .await?
    {
        Some(value) => Ok(value.into_response()),
        None => Err(ApiError::not_found(format!(
            "plugin `{name}` has no key `{key}`"
        ))),
    }
}
