//! `/admin/v1/schedule-groups`: the schedule groups flows name, their state now, and the
//! switches admins flip without a restart: an emergency, and holiday dates.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::json;

use super::state::AdminState;
use crate::server::error::{ApiError, ApiResult, json_body};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/schedule-groups", get(list))
        .route("/admin/v1/schedule-groups/{id}", get(one))
        .route("/admin/v1/schedule-groups/{id}/emergency", put(emergency))
        .route(
            "/admin/v1/schedule-groups/{id}/holidays/{date}",
            put(add_holiday).delete(remove_holiday),
        )
}

async fn list(State(state): State<AdminState>) -> ApiResult {
    Ok(axum::Json(json!({ "groups": state.schedules.list() })).into_response())
}

async fn one(State(state): State<AdminState>, Path(id): Path<String>) -> ApiResult {
    match state.schedules.get(&id) {
        Some(group) => Ok(axum::Json(group).into_response()),
        None => Err(unknown(&id)),
    }
}

fn unknown(id: &str) -> ApiError {
    ApiError::not_found(format!("no schedule group `{id}` is configured"))
}

/// `{"active": true}` starts an emergency, `false` ends it, `null` returns to the
/// configuration's `emergency`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmergencyBody {
    active: Option<bool>,
}

async fn emergency(
    State(state): State<AdminState>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: EmergencyBody = json_body(&body)?;
    if state.schedules.get(&id).is_none() {
        return Err(unknown(&id));
    }
    let group = state.schedules.set_emergency(&id, body.active).await?;
    Ok(axum::Json(group).into_response())
}

async fn add_holiday(
    State(state): State<AdminState>,
    Path((id, date)): Path<(String, String)>,
) -> ApiResult {
    holiday(state, id, date, true).await
}

async fn remove_holiday(
    State(state): State<AdminState>,
    Path((id, date)): Path<(String, String)>,
) -> ApiResult {
    holiday(state, id, date, false).await
}

async fn holiday(state: AdminState, id: String, date: String, add: bool) -> ApiResult {
    if state.schedules.get(&id).is_none() {
        return Err(unknown(&id));
    }
    if date.parse::<jiff::civil::Date>().is_err() {
        return Err(ApiError::bad_request(format!(
            "`{date}` is not a date like 2026-12-25"
        )));
    }
    let group = state.schedules.set_holiday(&id, &date, add).await?;
    Ok(axum::Json(group).into_response())
}
