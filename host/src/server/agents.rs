//! The agent API (`/api/v1/...`): presence, queues, interactions, replies, wrap-ups, the live
//! event stream, canned responses and wrap-up codes (transfers, history, search and uploads are
//! in `agent_tools.rs`). Handlers parse, call one ACD operation and shape the JSON.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Auth, SignedIn, Staff};
use super::error::{ApiResult, json_body};
use super::views::{record_json, summary};
use crate::acd::{Acd, Reply};
use crate::config::AgentConfig;
use crate::live::AgentEvents;
use crate::model::Presence;

/// What the agent routes need.
#[derive(Clone)]
pub struct AgentState {
    pub acd: Arc<Acd>,
    pub auth: Arc<Auth>,
    pub live: Arc<AgentEvents>,
    pub wrapup_codes: Arc<Vec<String>>,
    /// The largest file an agent may upload.
    pub max_attachment_bytes: usize,
}

impl FromRef<AgentState> for Arc<Auth> {
    fn from_ref(state: &AgentState) -> Arc<Auth> {
        state.auth.clone()
    }
}

pub fn routes(state: AgentState) -> Router {
    Router::new()
        .route("/api/v1/me", get(get_me))
        .route("/api/v1/stream-tickets", post(stream_ticket))
        .route("/api/v1/agents/{agent}/presence", put(put_presence))
        .route("/api/v1/agents/{agent}/events", get(agent_events))
        .route(
            "/api/v1/agents/{agent}/interactions",
            get(get_agent_interactions),
        )
        .route("/api/v1/queues/{queue}", get(get_queue))
        .route("/api/v1/interactions/{id}", get(get_interaction))
        .route("/api/v1/interactions/{id}/accept", post(accept))
        .route("/api/v1/interactions/{id}/decline", post(decline))
        .route("/api/v1/interactions/{id}/messages", post(send_message))
        .route("/api/v1/interactions/{id}/typing", post(typing))
        .route("/api/v1/interactions/{id}/wrapup", post(wrap_up))
        .route("/api/v1/canned", get(list_canned))
        .route("/api/v1/wrapup-codes", get(wrapup_codes))
        .with_state(state)
}

/// The signed-in agent: who they are and what they are doing.
async fn me_json(state: &AgentState, agent: &AgentConfig) -> Result<Value, super::ApiError> {
    let presence = state.acd.presence(agent).await?;
    Ok(json!({
        "id": agent.id,
        "name": agent.name.clone().unwrap_or_else(|| agent.id.clone()),
        "queues": agent.queues,
        "presence": presence,
        "capacity": agent.capacity,
        "channel_capacity": agent.channel_capacity,
        "skills": agent.skills,
        "languages": agent.languages,
    }))
}

async fn get_me(State(state): State<AgentState>, SignedIn(agent): SignedIn) -> ApiResult {
    Ok(axum::Json(me_json(&state, &agent).await?).into_response())
}

#[derive(Deserialize)]
struct PresenceBody {
    presence: Presence,
}

async fn put_presence(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let agent = state.auth.agent_for(&headers, None, &id).await?;
    let body: PresenceBody = json_body(&body)?;
    state.acd.set_presence(&agent, body.presence).await?;
    Ok(axum::Json(json!({ "agent": agent.id, "presence": body.presence })).into_response())
}

/// `POST /api/v1/stream-tickets` (bearer header of an agent, a supervisor or the admin): a
/// ticket that opens one event stream as `?ticket=` within 60 seconds.
async fn stream_ticket(State(state): State<AgentState>, headers: HeaderMap) -> ApiResult {
    let ticket = state.auth.issue_ticket(&headers).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "ticket": ticket,
            "expires_in_seconds": super::auth::TICKET_TTL_MS / 1000,
        })),
    )
        .into_response())
}

async fn get_agent_interactions(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let agent = state.auth.agent_for(&headers, Some(&query), &id).await?;
    let interactions = state.acd.interactions(&agent).await?;
    let mut all: Vec<Value> = interactions
        .offered
        .iter()
        .map(|o| {
            let mut view = summary(&o.conversation, "offered", Some(o.expires_at));
            view["transfer"] = json!(o.transfer);
            view
        })
        .collect();
    all.extend(
        interactions
            .held
            .iter()
            .map(|c| summary(c, "assigned", None)),
    );
    Ok(axum::Json(json!({ "interactions": all })).into_response())
}

/// `GET /api/v1/agents/{agent}/events`: server-sent events, starting with `hello`.
async fn agent_events(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use futures_util::StreamExt;
    let agent = state.auth.agent_for(&headers, Some(&query), &id).await?;
    let hello = me_json(&state, &agent).await?;
    let receiver = state.live.subscribe(&agent.id);
    let first = futures_util::stream::once(async move {
        Ok::<_, std::convert::Infallible>(Event::default().event("hello").data(hello.to_string()))
    });
    let rest =
        tokio_stream::wrappers::BroadcastStream::new(receiver).filter_map(|event| async move {
            // A slow client that fell behind skips what it missed; it refetches on `hello`.
            event
                .ok()
                .map(|e| Ok(Event::default().event(e.name).data(e.data.to_string())))
        });
    Ok(Sse::new(first.chain(rest))
        .keep_alive(KeepAlive::default())
        .into_response())
}

async fn get_queue(
    State(state): State<AgentState>,
    Path(queue): Path<String>,
    SignedIn(agent): SignedIn,
) -> ApiResult {
    let waiting: Vec<Value> = state
        .acd
        .queue(&agent, &queue)
        .await?
        .into_iter()
        .map(|c| {
            json!({
                "id": c.id,
                "integration": c.integration,
                "customer_id": c.customer_id,
                "customer": c.customer,
                "priority": c.priority,
                "skills": c.skills,
                "queued_at": c.queued_at,
                "data": c.participant_data,
            })
        })
        .collect();
    Ok(axum::Json(json!({ "queue": queue, "waiting": waiting })).into_response())
}

/// Admins see every interaction; agents those they hold or held and those of their queues.
async fn get_interaction(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    Staff(agent): Staff,
) -> ApiResult {
    let record = state.acd.record(agent.as_ref(), &id).await?;
    Ok(axum::Json(record_json(record)).into_response())
}

async fn accept(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
) -> ApiResult {
    let c = state.acd.accept(&agent, &id).await?;
    Ok(axum::Json(
        json!({ "id": c.id, "state": c.state.as_str(), "agent": c.agent, "queue": c.queue }),
    )
    .into_response())
}

async fn decline(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
) -> ApiResult {
    state.acd.decline(&agent, &id).await?;
    Ok(axum::Json(json!({ "id": id, "state": "queued" })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageBody {
    #[serde(default)]
    text: Option<String>,
    /// The id of a canned response, rendered with the customer's details.
    #[serde(default)]
    canned: Option<String>,
    #[serde(default)]
    template: Option<crate::events::TemplateMessage>,
    /// Ids of files uploaded to the interaction (`POST .../attachments`).
    #[serde(default)]
    attachments: Vec<String>,
}

async fn send_message(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
    body: Bytes,
) -> ApiResult {
    let body: MessageBody = json_body(&body)?;
    let reply = Reply {
        text: body.text,
        canned: body.canned,
        template: body.template,
        attachments: body.attachments,
    };
    let message_id = state.acd.send(&agent, &id, reply).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({ "id": message_id, "status": "pending" })),
    )
        .into_response())
}

async fn typing(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
) -> ApiResult {
    Ok(axum::Json(match state.acd.typing(&agent, &id).await? {
        Ok(()) => json!({ "sent": true }),
        Err(reason) => json!({ "sent": false, "reason": reason }),
    })
    .into_response())
}

#[derive(Deserialize)]
struct WrapupBody {
    code: String,
    #[serde(default)]
    notes: Option<String>,
}

async fn wrap_up(
    State(state): State<AgentState>,
    Path(id): Path<String>,
    SignedIn(agent): SignedIn,
    body: Bytes,
) -> ApiResult {
    let body: WrapupBody = json_body(&body)?;
    let code = body.code.clone();
    state
        .acd
        .wrap_up(&agent, &id, body.code, body.notes)
        .await?;
    Ok(axum::Json(json!({ "id": id, "state": "ended", "wrapup": code })).into_response())
}

async fn list_canned(State(state): State<AgentState>, Staff(_): Staff) -> ApiResult {
    let canned: Vec<Value> = state
        .acd
        .store
        .canned()
        .await?
        .into_iter()
        .map(|c| json!({ "id": c.id, "title": c.title, "text": c.text }))
        .collect();
    Ok(axum::Json(json!({ "canned": canned })).into_response())
}

async fn wrapup_codes(State(state): State<AgentState>, SignedIn(_): SignedIn) -> ApiResult {
    Ok(axum::Json(json!({ "codes": *state.wrapup_codes })).into_response())
}
