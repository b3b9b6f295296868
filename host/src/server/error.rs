//! Error answers: JSON `{"error": {"code", "message"}}` with the right status.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::acd::AcdError;

/// An error answer.
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

/// An internal error answers 500 with a reference only: its chain (paths, SQL, the store's
/// words) goes to the host's log under that reference, not to the caller.
impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        let reference = uuid::Uuid::new_v4().simple().to_string();
        let reference = &reference[..12];
        tracing::error!(reference, "internal error: {e:#}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error; the host's log has it under reference {reference}"),
        )
    }
}

impl From<AcdError> for ApiError {
    fn from(e: AcdError) -> Self {
        match e {
            AcdError::NotFound(m) => ApiError::not_found(m),
            AcdError::Forbidden(m) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", m),
            AcdError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            AcdError::Invalid(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", m),
            AcdError::Refused { code, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
            }
            AcdError::Internal(e) => e.into(),
        }
    }
}

pub type ApiResult = Result<Response, ApiError>;

/// Parses a JSON body with a clear error.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}
