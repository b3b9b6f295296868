//! `/admin/v1/agents`: the agents and supervisors who may sign in, and adding, changing and
//! removing them without a restart (`acd/roster.rs`). Tokens go in hashed and never come out.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::state::AdminState;
use crate::acd::{AccountBody, account_json};
use crate::server::error::{ApiError, ApiResult, json_body};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/agents", get(list).post(create))
        .route(
            "/admin/v1/agents/{id}",
            get(one).put(replace).delete(remove),
        )
}

/// `GET /admin/v1/agents`: every agent, then every supervisor, with where each is declared.
async fn list(State(state): State<AdminState>) -> ApiResult {
    let agents: Vec<_> = state
        .agents
        .members()
        .iter()
        .map(|(m, s)| account_json(m, *s))
        .collect();
    Ok(axum::Json(json!({ "agents": agents })).into_response())
}

async fn one(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    match state.agents.member(&id) {
        Some((member, source)) => Ok(axum::Json(account_json(&member, source)).into_response()),
        None => Err(ApiError::not_found(format!("agent `{id}` does not exist"))),
    }
}

/// `POST /admin/v1/agents` with the id in the body: 201, or 409 when the id is taken.
async fn create(State(state): State<AdminState>, body: Bytes) -> ApiResult {
    let body: AccountBody = json_body(&body)?;
    let Some(id) = body.id.clone() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "give the new agent's `id`",
        ));
    };
    let (member, source) = state.roster.put(&id, body, true).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(account_json(&member, source)),
    )
        .into_response())
}

/// `PUT /admin/v1/agents/{id}`: adds or replaces; without a token, the old one stays.
async fn replace(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: AccountBody = json_body(&body)?;
    if body.id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("the body's `id` differs from the URL's `{id}`"),
        ));
    }
    let (member, source) = state.roster.put(&id, body, false).await?;
    Ok(axum::Json(account_json(&member, source)).into_response())
}

/// `DELETE /admin/v1/agents/{id}`: their token stops at once; what they held is queued again.
async fn remove(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    let requeued = state.roster.delete(&id).await?;
    Ok(axum::Json(json!({ "deleted": id, "requeued": requeued })).into_response())
}
