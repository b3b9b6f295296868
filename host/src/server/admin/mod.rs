//! The admin API (`/admin/v1/...`), by resource: flows, plugins, integrations, schedule groups,
//! agents and supervisors (`agents.rs`),
//! and the ACD's queues, canned responses and content filters. Every route sits behind one layer that checks
//! the admin token.

mod acd;
mod agents;
mod flows;
mod integrations;
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
        .route_layer(axum::middleware::from_fn_with_state(auth, require_admin))
        .with_state(state)
}
