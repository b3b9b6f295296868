//! What agents do besides answering: transfer an interaction to a queue or an agent, read the
//! customer's earlier interactions, search, upload a file to send; and the public address
//! platforms fetch those files from (`/media/{id}`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::agents::AgentState;
use super::auth::{SignedIn, Staff};
use super::error::{ApiError, ApiResult, json_body};
use super::views::{message_json, record_json, summary};
use crate::acd::{TransferTo, Upload, kind_of};
use crate::store::SearchQuery;

pub fn routes(state: AgentState) -> Router {
    let max = state.max_attachment_bytes;
    Router::new()
        .route("/api/v1/interactions/{id}/transfer", post(transfer))
        .route("/api/v1/interactions/{id}/history", get(history))
        .route(
            "/api/v1/interactions/{id}/attachments",
            post(upload).layer(DefaultBodyLimit::max(max)),
        )
        .route("/api/v1/search", get(search))
        .route("/media/{id}", get(media))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    #[serde(default)]
    queue: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

async fn transfer(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
    body: Bytes,
) -> ApiResult {
    let body: TransferBody = json_body(&body)?;
    let to_agent = body.agent.clone();
    let c = state
        .acd
        .transfer(
            &agent,
            &id,
            TransferTo {
                queue: body.queue,
                agent: body.agent,
                note: body.note,
            },
        )
        .await?;
    Ok(axum::Json(json!({
        "id": c.id,
        "state": c.state.as_str(),
        "queue": c.queue,
        "to_agent": to_agent,
    }))
    .into_response())
}

async fn history(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    Staff(agent): Staff,
) -> ApiResult {
    let records: Vec<Value> = state
        .acd
        .history(agent.as_ref(), &id)
        .await?
        .into_iter()
        .map(record_json)
        .collect();
    Ok(axum::Json(json!({ "interactions": records })).into_response())
}

/// A time in the query: Unix milliseconds.
fn millis(query: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    match query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "`{name}` is a time in Unix milliseconds, not `{v}`"
            ))
        }),
    }
}

async fn search(
    State(state): State<AgentState>,
    Query(query): Query<HashMap<String, String>>,
    Staff(agent): Staff,
) -> ApiResult {
    let text = |name: &str| query.get(name).cloned().filter(|v| !v.trim().is_empty());
    let limit = match query.get("limit") {
        None => 50,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request(format!("`limit` is a number, not `{v}`")))?,
    };
    let found = state
        .acd
        .search(
            agent.as_ref(),
            SearchQuery {
                customer: text("customer"),
                text: text("text"),
                from: millis(&query, "from")?,
                to: millis(&query, "to")?,
                visible_to: None,
                limit,
            },
        )
        .await?;
    let hits: Vec<Value> = found
        .hits
        .into_iter()
        .map(|hit| {
            let c = &hit.conversation;
            let mut entry = summary(c, c.state.as_str(), None);
            entry["matched"] = hit.matched.map(message_json).unwrap_or(Value::Null);
            entry
        })
        .collect();
    Ok(axum::Json(json!({ "interactions": hits, "truncated": found.truncated })).into_response())
}

async fn upload(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    SignedIn(agent): SignedIn,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let mime_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let stored = state
        .acd
        .upload(
            &agent,
            &id,
            Upload {
                filename: query.get("filename").cloned().unwrap_or_default(),
                mime_type,
                bytes: body.to_vec(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "id": stored.id,
            "filename": stored.filename,
            "mime_type": stored.mime_type,
            "kind": kind_of(&stored.mime_type),
            "size": stored.size,
            "url": state.acd.media_url(&stored.id),
        })),
    )
        .into_response())
}

/// `GET /media/{id}`: an uploaded file, for whoever has its unguessable address (platforms
/// fetch without credentials). Served so a browser never runs it: images inline, everything
/// else as a download, no sniffing, a sandboxing policy.
async fn media(State(state): State<AgentState>, Path(id): Path<String>) -> ApiResult {
    let (stored, bytes) = state.acd.media(&id).await?;
    let inline = stored.mime_type.starts_with("image/") && stored.mime_type != "image/svg+xml";
    let filename: String = stored
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{filename}\"",
        if inline { "inline" } else { "attachment" }
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    let value = |v: &str| {
        HeaderValue::from_str(v)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    headers.insert(header::CONTENT_TYPE, value(&stored.mime_type));
    headers.insert(header::CONTENT_DISPOSITION, value(&disposition));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(response)
}
