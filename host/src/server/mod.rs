//! HTTP routes (DESIGN.md, "Public interfaces"), by audience: the platforms' webhooks
//! (`webhooks.rs`), agents (`agents.rs`, and `agent_tools.rs` for transfers, history, search,
//! uploads and the files platforms fetch), supervisors (`supervisor.rs`), admins (`admin/`, by
//! resource), the console (`console.rs`), health and metrics (`metrics.rs`); `views.rs` shapes
//! interactions as JSON; the listener and its limits (`listener.rs`). Handlers parse the request, call one
//! operation of the part of the host that owns it, and shape the JSON; every error is JSON
//! `{"error": {"code", "message"}}` (`error.rs`). Who may call what is decided once, in
//! `auth.rs`.

mod admin;
mod agent_tools;
mod agents;
mod auth;
mod console;
mod error;
pub mod listener;
mod metrics;
mod request_log;
mod supervisor;
mod views;
mod webhooks;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use admin::AdminState;
pub use agents::AgentState;
pub use auth::Auth;
pub use error::ApiError;
pub use metrics::MetricsState;
pub use supervisor::SupervisorState;

use crate::intake::Intake;

/// Everything the routes need, per audience.
pub struct Routes {
    pub intake: Arc<Intake>,
    pub agents: AgentState,
    pub supervisor: SupervisorState,
    pub admin: AdminState,
    pub metrics: MetricsState,
    pub auth: Arc<Auth>,
    pub console_dir: PathBuf,
    /// The largest request body accepted (webhooks, JSON); larger ones get 413.
    pub max_body_bytes: usize,
}

/// The whole HTTP surface.
pub fn router(routes: Routes) -> Router {
    Router::new()
        .merge(webhooks::routes(routes.intake))
        .merge(metrics::routes(routes.metrics))
        .merge(agent_tools::routes(routes.agents.clone()))
        .merge(agents::routes(routes.agents))
        .merge(supervisor::routes(routes.supervisor))
        .merge(admin::routes(routes.admin, routes.auth))
        .merge(console::routes(routes.console_dir))
        .fallback(|| async { ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(routes.max_body_bytes))
        .layer(axum::middleware::from_fn(request_log::log_request))
}

/// Serves until `shutdown` completes, within the listener's `limits` (a connection cap and a
/// header-read timeout, see [`listener`]); then stops accepting connections (a platform's webhook
/// is refused and redelivered later), lets the requests in flight finish and returns when every
/// connection has closed, or `deadline` after `shutdown` with the connections still open then
/// dropped, so a deploy never waits on a client that keeps its connection.
pub async fn serve(
    router: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: listener::Limits,
    deadline: std::time::Duration,
) -> anyhow::Result<()> {
    let stopping = Arc::new(tokio::sync::Notify::new());
    let stopped = stopping.clone();
    let signal = async move {
        shutdown.await;
        stopped.notify_one();
    };
    let server = listener::serve(router, listener, signal, limits);
    let past_deadline = async {
        stopping.notified().await;
        tokio::time::sleep(deadline).await;
    };
    tokio::select! {
        served = server => served?,
        () = past_deadline => tracing::warn!(
            "connections still open {deadline:?} after the stop signal were dropped"
        ),
    }
    Ok(())
}
