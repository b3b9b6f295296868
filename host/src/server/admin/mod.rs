//! The admin API (`/admin/v1/...`), by resource: flows, plugins, integrations, schedule groups,
//! agents and supervisors (`agents.rs`), the ACD's queues, canned responses and content filters,
//! and the data's lifecycle (erasure, the audit log). Every route sits behind one layer that checks
//! the admin token, and one that records every call that may change something in the audit log
//! (`audit.rs`).

mod acd;
mod agents;
mod audit;
mod flows;
mod integrations;
mod lifecycle;
mod plugins;
mod schedules;
mod state;

use std::sync::Arc;

use axum::Router;

pub use state::AdminState;

use super::auth::{Auth, require_admin};

pub fn routes(state: AdminState, auth: Arc<Auth>) -> Router {
    Router::new()
        .merge(flows::routes())
        .merge(plugins::routes())
        .merge(integrations::routes())
        .merge(acd::routes())
        .merge(agents::routes())
        .merge(schedules::routes())
        .merge(lifecycle::routes())
        // The token check runs first (the last layer added is the outermost).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .route_layer(axum::middleware::from_fn_with_state(auth, require_admin))
        .with_state(state)
}
