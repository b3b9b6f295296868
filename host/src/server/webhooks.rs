//! `GET|POST /webhooks/{integration}`: the platforms' webhooks, answered by the integration's
//! adapter through [`crate::intake`]; events are stored before the 2xx.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

use super::error::{ApiError, ApiResult};
use crate::intake::{Intake, Refused};
use crate::runtime::WebhookRequest;

pub fn routes(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/webhooks/{integration}", get(webhook).post(webhook))
        .with_state(intake)
}

async fn webhook(
    State(intake): State<Arc<Intake>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let request = WebhookRequest {
        method: method.as_str().to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let started = std::time::Instant::now();
    let answer = intake.receive(&id, request).await;
    // Unknown integrations are left out: anyone can name one, and each would be a new series.
    if !matches!(answer, Err(Refused::UnknownIntegration(_))) {
        intake
            .metrics
            .webhook_handled(&id, started.elapsed().as_secs_f64());
    }
    let answer = answer.map_err(refusal)?;
    let mut response = Response::new(axum::body::Body::from(answer.body));
    *response.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            response.headers_mut().append(name, value);
        }
    }
    Ok(response)
}

fn refusal(refused: Refused) -> ApiError {
    let code = refused.code();
    match refused {
        Refused::UnknownIntegration(m) => ApiError::new(StatusCode::NOT_FOUND, code, m),
        Refused::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, code, m),
        Refused::Malformed(m) => ApiError::new(StatusCode::BAD_REQUEST, code, m),
        Refused::Misconfigured(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, m),
        Refused::PluginFailed(m) | Refused::AdapterMissing(m) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, m)
        }
        Refused::StoreUnavailable => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "the events could not be stored; retry",
        ),
    }
}
