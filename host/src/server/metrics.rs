//! `GET /healthz` and `GET /metrics` (Prometheus text): the counters the host keeps, and gauges
//! read from the store at scrape time.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::error::ApiResult;
use crate::integrations::Integrations;
use crate::metrics::{Gauges, Metrics};
use crate::model::ConversationState;
use crate::store::Store;

/// What the metrics route needs.
#[derive(Clone)]
pub struct MetricsState {
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
    pub integrations: Arc<Integrations>,
    pub queues: Arc<Vec<String>>,
}

pub fn routes(state: MetricsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> Response {
    axum::Json(json!({ "status": "ok" })).into_response()
}

async fn metrics(State(state): State<MetricsState>) -> ApiResult {
    let counts = state.store.count_by_state().await?;
    let pending = state.store.pending_sends().await?;
    let mut gauges = Gauges {
        outbound_pending: pending,
        ..Default::default()
    };
    let mut by_state = BTreeMap::<String, i64>::new();
    for queue in state.queues.iter() {
        gauges.queue_depth.push((queue.clone(), 0));
    }
    for c in counts {
        *by_state.entry(c.state.clone()).or_default() += c.count;
        if c.state == ConversationState::Queued.as_str()
            && let Some(q) = c.queue
        {
            match gauges.queue_depth.iter_mut().find(|(name, _)| *name == q) {
                Some(entry) => entry.1 += c.count,
                None => gauges.queue_depth.push((q, c.count)),
            }
        }
    }
    gauges.queue_depth.sort();
    gauges.conversations = by_state.into_iter().collect();
    gauges.integrations = state
        .integrations
        .all()
        .iter()
        .map(|i| {
            (
                i.config.id.clone(),
                state.integrations.deauthorized(&i.config.id).is_some(),
            )
        })
        .collect();
    let mut response = state.metrics.render(&gauges).into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(response)
}
