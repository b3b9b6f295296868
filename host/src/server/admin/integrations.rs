//! `/admin/v1/integrations`: list, read, and add or replace one without a restart. Settings hold
//! secrets: only their names are shown, never their values.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

use super::state::AdminState;
use crate::integrations::Integration;
use crate::model::now_ms;
use crate::server::error::{ApiError, ApiResult, json_body};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/integrations", get(list_integrations))
        .route(
            "/admin/v1/integrations/{id}",
            get(get_integration).put(put_integration),
        )
}

async fn integration_json(
    state: &AdminState,
    integration: &Integration,
) -> Result<Value, ApiError> {
    let c = &integration.config;
    let sent_today = state.store.sends_today(&c.id, now_ms()).await?;
    let settings: Vec<&String> = c.settings.keys().collect();
    let deauthorized = state
        .deployer
        .integrations
        .deauthorized(&c.id)
        .map(|(since, reason)| json!({ "since": since, "reason": reason }));
    Ok(json!({
        "id": c.id,
        "adapter": c.adapter,
        "platform": integration.info.platform,
        "text_limit": integration.info.text_limit,
        "flow": c.flow,
        "threading_window_hours": c.threading_window_hours,
        "size": c.size,
        "daily_cap": c.size.map(|s| s.daily_cap()),
        "sent_today": sent_today,
        "reply_as": c.reply_as,
        // What it is paced to: its own `send_limits`, or the platform's documented limits.
        "send_limits": match &c.send_limits {
            Some(limits) => limits.clone(),
            None => crate::rules::pacing::documented_limits(&integration.info.platform)
                .iter()
                .map(ToString::to_string)
                .collect(),
        },
        "settings": settings,
        "webhook_path": format!("/webhooks/{}", c.id),
        "status": if deauthorized.is_some() { "deauthorized" } else { "active" },
        "deauthorized": deauthorized,
    }))
}

async fn list_integrations(State(state): State<AdminState>) -> ApiResult {
    let mut all = Vec::new();
    for integration in state.deployer.integrations.all() {
        all.push(integration_json(&state, &integration).await?);
    }
    Ok(axum::Json(json!({ "integrations": all })).into_response())
}

async fn get_integration(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    let integrations = &state.deployer.integrations;
    if let Some(adapter) = integrations.waiting_for(&id) {
        let waiting = json!({ "id": id, "adapter": adapter, "status": "waiting_for_adapter" });
        return Ok(axum::Json(waiting).into_response());
    }
    let integration = integrations
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no integration `{id}`")))?;
    Ok(axum::Json(integration_json(&state, &integration).await?).into_response())
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_integration",
        message,
    )
}

/// `PUT /admin/v1/integrations/{id}`: adds or replaces an integration without a restart (JSON
/// with the fields of an `[[integration]]` table). Replacing one also re-authorizes it after a
/// platform refused its credentials; its waiting messages then go out.
async fn put_integration(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let mut value: Value = json_body(&body)?;
    if let Some(map) = value.as_object_mut() {
        map.entry("id").or_insert_with(|| Value::String(id.clone()));
    }
    let integration: crate::config::IntegrationConfig =
        serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
    if integration.id != id {
        return Err(invalid(format!(
            "the body's id `{}` differs from the URL's `{id}`",
            integration.id
        )));
    }
    let integrations = &state.deployer.integrations;
    let existed = integrations.get(&id).is_some();
    crate::config::Config::check_integration(&integration)
        .map_err(|e| invalid(format!("{e:#}")))?;
    state
        .deployer
        .put_integration(integration)
        .await
        .map_err(|e| invalid(format!("{e:#}")))?;
    let integration = integrations.get(&id).expect("just installed");
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        axum::Json(integration_json(&state, &integration).await?),
    )
        .into_response())
}
