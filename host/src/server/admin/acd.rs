//! The ACD's admin routes: queues at a glance, canned responses, content filters.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::AdminState;
use crate::model::{Canned, FilterRule, Presence};
use crate::server::error::{ApiError, ApiResult, json_body};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/queues", get(admin_queues))
        .route(
            "/admin/v1/canned/{id}",
            put(put_canned).delete(delete_canned),
        )
        .route("/admin/v1/filters", get(list_filters))
        .route(
            "/admin/v1/filters/{id}",
            put(put_filter).delete(delete_filter),
        )
}

/// `GET /admin/v1/queues`: each queue's waiting and assigned interactions and available agents.
async fn admin_queues(State(state): State<AdminState>) -> ApiResult {
    let counts = state.store.count_by_state().await?;
    let presences = state.store.presences().await?;
    let agents = state.agents.all();
    let queues: Vec<Value> = state
        .queues
        .iter()
        .map(|q| {
            let count = |s: &str| {
                counts
                    .iter()
                    .filter(|c| c.state == s && c.queue.as_deref() == Some(q.id.as_str()))
                    .map(|c| c.count)
                    .sum::<i64>()
            };
            let available = agents
                .iter()
                .filter(|a| a.queues.contains(&q.id))
                .filter(|a| {
                    presences
                        .iter()
                        .any(|p| p.agent == a.id && p.presence == Presence::Available)
                })
                .count();
            json!({
                "id": q.id,
                "name": q.name.clone().unwrap_or_else(|| q.id.clone()),
                "waiting": count("queued"),
                "assigned": count("assigned"),
                "agents_available": available,
                "alerting_timeout_seconds": q.alerting_timeout_seconds,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "queues": queues })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CannedBody {
    title: String,
    text: String,
}

async fn put_canned(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: CannedBody = json_body(&body)?;
    crate::engine::template::check(&body.text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e))?;
    let canned = Canned {
        id,
        title: body.title,
        text: body.text,
    };
    state.store.put_canned(canned.clone()).await?;
    Ok(
        axum::Json(json!({ "id": canned.id, "title": canned.title, "text": canned.text }))
            .into_response(),
    )
}

async fn delete_canned(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    if !state.store.delete_canned(&id).await? {
        return Err(ApiError::not_found(format!("no canned response `{id}`")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterBody {
    kind: String,
    pattern: String,
}

async fn list_filters(State(state): State<AdminState>) -> ApiResult {
    let rules: Vec<Value> = state
        .store
        .filters()
        .await?
        .into_iter()
        .map(|f| json!({ "id": f.id, "kind": f.kind, "pattern": f.pattern }))
        .collect();
    Ok(axum::Json(json!({ "filters": rules })).into_response())
}

async fn put_filter(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: FilterBody = json_body(&body)?;
    crate::acd::filters::check(&body.kind, &body.pattern)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e))?;
    let rule = FilterRule {
        id,
        kind: body.kind,
        pattern: body.pattern,
    };
    state.store.put_filter(rule.clone()).await?;
    Ok(
        axum::Json(json!({ "id": rule.id, "kind": rule.kind, "pattern": rule.pattern }))
            .into_response(),
    )
}

async fn delete_filter(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    if !state.store.delete_filter(&id).await? {
        return Err(ApiError::not_found(format!("no content filter `{id}`")));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
