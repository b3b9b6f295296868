//! One log line per HTTP request, written when the response starts: method, route (the
//! pattern, e.g. `/webhooks/{integration}`, so ids and secrets in a path or its query string
//! never reach the log), status, duration in milliseconds, and the integration of a webhook.
//! Logged at `info` under the target `http` (`RUST_LOG=info,http=warn` hides them).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// The layer in front of every route.
pub async fn log_request(request: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let integration = route
        .as_deref()
        .filter(|r| r.starts_with("/webhooks/"))
        .and_then(|_| request.uri().path().strip_prefix("/webhooks/"))
        .map(|rest| rest.split('/').next().unwrap_or_default().to_owned());
    let response = next.run(request).await;
    tracing::info!(
        target: "http",
        method = %method,
        route = route.as_deref().unwrap_or("(no route)"),
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        integration = integration.as_deref(),
        "request"
    );
    response
}
