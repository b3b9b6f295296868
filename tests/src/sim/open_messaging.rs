//! The open-messaging partner's webhook: where the host, playing Genesys, posts outbound messages
//! (reference §6.3) for an integration whose `webhook_url` points at the simulator.
//!
//! The partner verifies `X-Hub-Signature-256` over the raw body (§6.6), as a careful partner would:
//! a host that signs a re-serialization, or with the wrong secret, is refused here rather than in
//! production.

use std::sync::Arc;
use std::time::SystemTime;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use super::Shared;
use super::records::{Attempt, Delivered, Platform, Refused};
use crate::signing;

/// A scripted answer to the next notification.
#[derive(Debug, Clone)]
pub(crate) struct OmFault {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
}

/// The route, in axum's syntax; an integration's `webhook_url` is `{sim}/open-messaging/{path}`.
pub(crate) const NOTIFY_ROUTE: &str = "/open-messaging/{path}";

/// `POST /open-messaging/{path}`: verify, parse the OpenNormalizedMessage, record, answer
/// `200 {"id": <its id>}`.
pub(crate) async fn notify(
    State(sim): State<Arc<Shared>>,
    Path(path): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let partner = sim.partners.iter().find(|partner| partner.path == path);
    let integration_id = partner.map(|partner| partner.integration_id.clone());
    let refuse = |status: StatusCode, reason: String| {
        let answer = (status, Json(json!({ "error": reason }))).into_response();
        sim.records.refuse(Refused {
            platform: Platform::OpenMessaging,
            integration_id: integration_id.clone(),
            path: uri.path().to_owned(),
            status: status.as_u16(),
            reason,
            headers: headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            received_at: SystemTime::now(),
        });
        answer
    };

    let Some(partner) = partner else {
        return refuse(
            StatusCode::NOT_FOUND,
            format!("no open-messaging partner is configured at path {path:?}"),
        );
    };
    let Some(signature) = headers.get("x-hub-signature-256") else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "missing X-Hub-Signature-256".into(),
        );
    };
    let signature = signature.to_str().unwrap_or_default();
    if !signing::verify_hub_signature_base64(&partner.secret, &body, signature) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            format!(
                "X-Hub-Signature-256 {signature:?} is not sha256=<base64 HMAC-SHA256> of the raw body with the \
                 partner's secret"
            ),
        );
    }
    let message: Value = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            );
        }
    };
    let (Some(id), Some(recipient_id)) = (
        message["id"].as_str().map(str::to_owned),
        message["channel"]["to"]["id"].as_str().map(str::to_owned),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "an OpenNormalizedMessage needs a string `id` and `channel.to.id`".into(),
        );
    };

    let fault = sim
        .om_faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop_front();
    if let Some(fault) = fault {
        sim.records.fail(Attempt {
            platform: Platform::OpenMessaging,
            integration_id: partner.integration_id.clone(),
            recipient_id,
            text: message["text"].as_str().map(str::to_owned),
            status: fault.status,
            received_at: SystemTime::now(),
        });
        let status =
            StatusCode::from_u16(fault.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, "slow down").into_response();
        for (name, value) in &fault.headers {
            if let (Ok(name), Ok(value)) = (
                axum::http::HeaderName::from_bytes(name.as_bytes()),
                axum::http::HeaderValue::from_str(value),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
        return response;
    }
    sim.records.deliver(
        Delivered {
            platform: Platform::OpenMessaging,
            integration_id: partner.integration_id.clone(),
            recipient_id,
            platform_message_id: id.clone(),
            text: message["text"].as_str().map(str::to_owned),
            body: message,
            headers,
            received_at: SystemTime::now(),
        },
        StatusCode::OK.as_u16(),
    );
    Json(json!({ "id": id })).into_response()
}
