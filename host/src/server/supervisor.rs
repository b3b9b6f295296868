//! The supervisor API (`/api/v1/supervisor/...`), for supervisors (their own token) and the
//! admin: who is signed in, the overview of the queues they watch and their agents, and the
//! same overview live over server-sent events (`snapshot` events, a new one whenever it
//! changes, at least every [`HEARTBEAT`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::auth::Auth;
use super::error::{ApiError, ApiResult};
use crate::acd::{Overview, Supervision, start_of_day};
use crate::config::SupervisorConfig;
use crate::model::now_ms;

/// How often the live overview is recomputed.
const TICK: Duration = Duration::from_secs(1);
/// The longest a live stream goes without a snapshot.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What the supervisor routes need.
#[derive(Clone)]
pub struct SupervisorState {
    pub supervision: Arc<Supervision>,
    pub auth: Arc<Auth>,
}

pub fn routes(state: SupervisorState) -> Router {
    Router::new()
        .route("/api/v1/supervisor/me", get(me))
        .route("/api/v1/supervisor/overview", get(overview))
        .route("/api/v1/supervisor/events", get(events))
        .with_state(state)
}

/// The caller (a supervisor, or the admin) and `?since=` (default: the start of the UTC day).
async fn caller(
    state: &SupervisorState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Result<(Option<SupervisorConfig>, Option<i64>), ApiError> {
    let watcher = state.auth.watcher(headers, query).await?;
    let since = match query.get("since") {
        None => None,
        Some(v) => Some(v.parse().map_err(|_| {
            ApiError::bad_request(format!("`since` is a time in Unix milliseconds, not `{v}`"))
        })?),
    };
    Ok((watcher, since))
}

async fn me(
    State(state): State<SupervisorState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let (watcher, _) = caller(&state, &headers, &query).await?;
    let queues: Vec<&String> = state
        .supervision
        .queues
        .iter()
        .map(|q| &q.id)
        .filter(|q| watcher.as_ref().is_none_or(|w| w.watches(q)))
        .collect();
    Ok(axum::Json(match &watcher {
        Some(s) => json!({
            "id": s.id,
            "name": s.name.clone().unwrap_or_else(|| s.id.clone()),
            "role": "supervisor",
            "queues": queues,
        }),
        None => json!({ "id": "admin", "name": "Admin", "role": "admin", "queues": queues }),
    })
    .into_response())
}

async fn snapshot(
    state: &SupervisorState,
    watcher: Option<&SupervisorConfig>,
    since: Option<i64>,
) -> anyhow::Result<Overview> {
    let now = now_ms();
    state
        .supervision
        .overview(watcher, since.unwrap_or_else(|| start_of_day(now)), now)
        .await
}

async fn overview(
    State(state): State<SupervisorState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let (watcher, since) = caller(&state, &headers, &query).await?;
    let overview = snapshot(&state, watcher.as_ref(), since).await?;
    Ok(axum::Json(overview).into_response())
}

/// What changes between two snapshots, leaving out the clock (and the waits it moves).
fn content(overview: &Overview) -> Overview {
    let mut o = overview.clone();
    o.now = 0;
    for q in &mut o.queues {
        q.longest_wait_ms = 0;
    }
    o
}

/// `GET /api/v1/supervisor/events`: a `snapshot` event at once, then whenever the overview
/// changes (checked every [`TICK`]), and at least every [`HEARTBEAT`].
async fn events(
    State(state): State<SupervisorState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let (watcher, since) = caller(&state, &headers, &query).await?;
    let first = snapshot(&state, watcher.as_ref(), since).await?;
    struct Feed {
        state: SupervisorState,
        watcher: Option<SupervisorConfig>,
        since: Option<i64>,
        last: Option<(Overview, tokio::time::Instant)>,
        next: Option<Overview>,
    }
    let feed = Feed {
        state,
        watcher,
        since,
        last: None,
        next: Some(first),
    };
    let stream = futures_util::stream::unfold(feed, |mut feed| async move {
        loop {
            let overview = match feed.next.take() {
                Some(o) => o,
                None => {
                    tokio::time::sleep(TICK).await;
                    match snapshot(&feed.state, feed.watcher.as_ref(), feed.since).await {
                        Ok(o) => o,
                        Err(e) => {
                            tracing::warn!("supervisor overview failed: {e:#}");
                            continue;
                        }
                    }
                }
            };
            let due = feed.last.as_ref().is_none_or(|(last, at)| {
                content(last) != content(&overview) || at.elapsed() >= HEARTBEAT
            });
            if due {
                let event = Event::default()
                    .event("snapshot")
                    .json_data(&overview)
                    .unwrap_or_else(|_| Event::default().event("snapshot"));
                feed.last = Some((overview, tokio::time::Instant::now()));
                return Some((Ok::<_, std::convert::Infallible>(event), feed));
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}
