//! The data's lifecycle through the admin API: erasing one customer's data
//! (`DELETE /admin/v1/customers/{integration}/{customer}`), and the audit log of admin actions
//! (`GET /admin/v1/audit`), which the layer in `audit.rs` fills.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde_json::json;

use super::audit::ADMIN_ACTOR;
use super::state::AdminState;
use crate::model::now_ms;
use crate::server::error::{ApiError, ApiResult};

/// The most audit entries one page holds.
const MAX_PAGE: usize = 500;

pub fn routes() -> Router<AdminState> {
    Router::new()
        .route(
            "/admin/v1/customers/{integration}/{customer}",
            delete(erase_customer),
        )
        .route("/admin/v1/audit", get(audit))
}

async fn erase_customer(
    State(state): State<AdminState>,
    Path((integration, customer)): Path<(String, String)>,
) -> ApiResult {
    // What flow plugins kept while serving the customer goes first: a failure or a crash
    // before the erasure below leaves the customer findable, so the request can be made again.
    let conversations = state
        .store
        .customer_conversations(&integration, &customer)
        .await?;
    let plugin_entries = state
        .deployer
        .catalog
        .runtime()
        .kv_store()
        .erase_conversations(&conversations)
        .await?;
    let Some(erased) = state
        .store
        .erase_customer(&integration, &customer, ADMIN_ACTOR, now_ms())
        .await?
    else {
        return Err(ApiError::not_found(format!(
            "nothing is stored of customer `{customer}` on integration `{integration}`"
        )));
    };
    tracing::info!(
        integration = %integration,
        conversations = erased.conversations,
        messages = erased.messages,
        inbox_events = erased.inbox_events,
        attachments = erased.attachments,
        plugin_entries,
        "erased a customer's data"
    );
    let mut erased = serde_json::to_value(&erased).map_err(anyhow::Error::from)?;
    erased["plugin_entries"] = json!(plugin_entries);
    Ok(axum::Json(json!({
        "integration": integration,
        "customer": customer,
        "erased": erased,
    }))
    .into_response())
}

/// `?limit=N` (default 50, at most 500) and `?before=ID` (the `next_before` of the previous
/// page).
async fn audit(
    State(state): State<AdminState>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult {
    let number = |key: &str| -> Result<Option<i64>, ApiError> {
        query
            .get(key)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    ApiError::bad_request(format!("`{key}` must be a whole number, not `{v}`"))
                })
            })
            .transpose()
    };
    let limit = match number("limit")? {
        None => 50,
        Some(n) if (1..=MAX_PAGE as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(ApiError::bad_request(format!(
                "`limit` must be between 1 and {MAX_PAGE}, not {n}"
            )));
        }
    };
    let entries = state.store.audit(limit, number("before")?).await?;
    // A full page may have more behind it.
    let next_before = entries
        .last()
        .filter(|_| entries.len() == limit)
        .map(|e| e.id);
    Ok(axum::Json(json!({ "entries": entries, "next_before": next_before })).into_response())
}
