//! The audit log's layer: every admin call that may change something (any method but `GET`,
//! `HEAD` and `OPTIONS`) is recorded with who made it, the route and the path called, when, and
//! the status it was answered with. It sits on the whole admin router, behind the token check,
//! so no admin route can forget it; a refused token is not an admin action and is not recorded.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::state::AdminState;
use crate::model::now_ms;
use crate::store::NewAuditEntry;

/// Who an admin action is recorded as: the host has one admin token, which has no name.
pub const ADMIN_ACTOR: &str = "admin";

/// Records the call after it was answered. The action is done by then: a failure to record it
/// is logged, and the caller still gets the answer.
pub async fn record(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_string(), |p| p.as_str().to_string());
    let target = request.uri().path().to_string();
    let response = next.run(request).await;
    let entry = NewAuditEntry {
        actor: ADMIN_ACTOR.to_string(),
        method,
        route,
        target,
        status: response.status().as_u16(),
        at: now_ms(),
    };
    if let Err(e) = state.store.record_audit(entry.clone()).await {
        tracing::error!(
            method = %entry.method,
            target = %entry.target,
            status = entry.status,
            "cannot record an admin action in the audit log: {e:#}"
        );
    }
    response
}
