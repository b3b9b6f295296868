//! `/admin/v1/flows`: list, read, publish (YAML body), roll back, draw.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::AdminState;
use crate::server::error::{ApiError, ApiResult, json_body};

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route("/admin/v1/flows", get(list_flows))
        .route("/admin/v1/flows/{name}", get(get_flow).put(put_flow))
        .route("/admin/v1/flows/{name}/rollback", post(rollback_flow))
        .route("/admin/v1/flows/{name}/graph", get(flow_graph))
}

async fn list_flows(State(state): State<AdminState>) -> ApiResult {
    let flows: Vec<Value> = state
        .store
        .active_flows()
        .await?
        .into_iter()
        .map(|f| json!({ "name": f.name, "version": f.version, "hash": f.hash, "created_at": f.created_at }))
        .collect();
    Ok(axum::Json(json!({ "flows": flows })).into_response())
}

async fn get_flow(State(state): State<AdminState>, Path(name): Path<String>) -> ApiResult {
    let Some(f) = state.store.active_flow(&name).await? else {
        return Err(ApiError::not_found(format!("no flow `{name}`")));
    };
    let versions: Vec<Value> = state
        .store
        .flow_versions(&name)
        .await?
        .into_iter()
        .map(|v| json!({ "version": v.version, "hash": v.hash, "created_at": v.created_at }))
        .collect();
    Ok(axum::Json(json!({
        "name": f.name,
        "version": f.version,
        "hash": f.hash,
        "created_at": f.created_at,
        "source": f.source,
        "versions": versions,
    }))
    .into_response())
}

/// `PUT /admin/v1/flows/{name}`: a YAML body. 201 with the new version; 200 when it equals the
/// active one; 422 with every validation error and its line.
async fn put_flow(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(ApiError::bad_request(
            "a flow name is 1 to 64 letters, digits, `-` and `_`",
        ));
    }
    let source = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("the flow must be UTF-8 YAML"))?;
    match state.deployer.publish_flow(&name, source).await? {
        Ok((version, created)) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok((status, axum::Json(json!({ "name": name, "version": version, "created": created }))).into_response())
        }
        Err(errors) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": { "code": "invalid_flow", "message": format!("flow `{name}` has {} error(s)", errors.len()) },
                "errors": errors,
            })),
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RollbackBody {
    pub version: i64,
}

/// `POST /admin/v1/flows/{name}/rollback` `{"version": N}`: new conversations start on version
/// N again; conversations in flight keep theirs.
async fn rollback_flow(
    State(state): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let body: RollbackBody = json_body(&body)?;
    match state.deployer.rollback_flow(&name, body.version).await? {
        Some(version) => {
            Ok(axum::Json(json!({ "name": name, "version": version })).into_response())
        }
        None => Err(ApiError::not_found(format!(
            "flow `{name}` has no version {}",
            body.version
        ))),
    }
}

/// `GET /admin/v1/flows/{name}/graph`: the active version as a Mermaid flowchart.
async fn flow_graph(State(state): State<AdminState>, Path(name): Path<String>) -> ApiResult {
    let Some(f) = state.store.active_flow(&name).await? else {
        return Err(ApiError::not_found(format!("no flow `{name}`")));
    };
    let flow = crate::engine::Flow::parse_stored(&f.source).map_err(|e| {
        anyhow::anyhow!(
            "stored flow `{name}` no longer parses: {}",
            crate::flows::join_errors(&e)
        )
    })?;
    let mut response = crate::engine::graph::mermaid(&flow).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(response)
}
