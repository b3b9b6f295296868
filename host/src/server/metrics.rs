//! `GET /healthz` and `GET /metrics` (OpenMetrics text): what [`Metrics`] holds in memory. The
//! gauges about the store are refreshed in the background (`crate::gauges`), so a scrape never
//! queries the store.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::metrics::{CONTENT_TYPE, Metrics};

/// What the metrics route needs.
#[derive(Clone)]
pub struct MetricsState {
    pub metrics: Arc<Metrics>,
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

async fn metrics(State(state): State<MetricsState>) -> Response {
    let mut response = state.metrics.render().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(CONTENT_TYPE),
    );
    response
}
