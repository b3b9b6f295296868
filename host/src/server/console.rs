//! The browser console's files, served at `/console/` from `[server] console_dir`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use super::error::{ApiError, ApiResult};

pub fn routes(dir: PathBuf) -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { axum::response::Redirect::permanent("/console/") }),
        )
        .route("/console/", get(console_file))
        .route("/console/{*path}", get(console_file))
        .with_state(Arc::new(dir))
}

/// The browser console's files, from `[server] console_dir`.
async fn console_file(State(dir): State<Arc<PathBuf>>, path: Option<Path<String>>) -> ApiResult {
    let requested = path.map(|Path(p)| p).unwrap_or_default();
    let safe = std::path::Path::new(&requested)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe {
        return Err(ApiError::not_found("no such file"));
    }
    let mut file = dir.join(&requested);
    if requested.is_empty() || !file.is_file() {
        // The console is a single page: unknown paths get its index.
        file = dir.join("index.html");
    }
    let bytes = tokio::fs::read(&file).await.map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "console_not_built",
            format!(
                "the console is not built in {} (run `cargo xtask build-console`)",
                dir.display()
            ),
        )
    })?;
    let content_type = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    };
    let mut response = bytes.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    Ok(response)
}
