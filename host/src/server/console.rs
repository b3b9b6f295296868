//! The browser console's files, served at `/console/`: from `[server] console_dir` when it holds
//! a built console (`index.html`), else the console built into the binary (a release's,
//! `crate::embedded`). The folder is looked at on every request, so a console built after the
//! start is served at once; the two are never mixed, since each build names its assets by hash.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;

use super::error::{ApiError, ApiResult};

pub fn routes(dir: PathBuf) -> Router {
    log_source(&dir);
    Router::new()
        .route(
            "/console",
            get(|| async { axum::response::Redirect::permanent("/console/") }),
        )
        .route("/console/", get(console_file))
        .route("/console/{*path}", get(console_file))
        .with_state(Arc::new(dir))
}

/// Says in the log which console is served.
fn log_source(dir: &FsPath) {
    let builtin = crate::embedded::console_files();
    if dir.join("index.html").is_file() {
        tracing::info!(
            "console: from the folder {}{}",
            dir.display(),
            if builtin > 0 {
                " (it overrides the one built into this binary)"
            } else {
                ""
            }
        );
    } else if builtin > 0 {
        tracing::info!(
            "console: built into this binary ({builtin} files; no console in {})",
            dir.display()
        );
    } else {
        tracing::warn!(
            "console: not available (no index.html in {}, none built into this binary); /console/ answers 404",
            dir.display()
        );
    }
}

/// A console file (see the module docs).
async fn console_file(State(dir): State<Arc<PathBuf>>, path: Option<Path<String>>) -> ApiResult {
    let requested = path.map(|Path(p)| p).unwrap_or_default();
    let safe = FsPath::new(&requested)
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if !safe {
        return Err(ApiError::not_found("no such file"));
    }
    let (bytes, name) = if dir.join("index.html").is_file() || crate::embedded::console_files() == 0
    {
        from_folder(&dir, &requested).await?
    } else {
        built_in(&requested)?
    };
    let content_type = match FsPath::new(&name).extension().and_then(|e| e.to_str()) {
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

/// The file `requested` of the console folder (its index for unknown paths: the console is a
/// single page), and the name of the file served.
async fn from_folder(dir: &FsPath, requested: &str) -> Result<(Bytes, String), ApiError> {
    let mut file = dir.join(requested);
    if requested.is_empty() || !file.is_file() {
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
    Ok((Bytes::from(bytes), file.to_string_lossy().into_owned()))
}

/// As [`from_folder`], from the console built into the binary.
fn built_in(requested: &str) -> Result<(Bytes, String), ApiError> {
    let (bytes, name) = match crate::embedded::console_file(requested) {
        Some(bytes) if !requested.is_empty() => (bytes, requested),
        _ => (
            crate::embedded::console_file("index.html")
                .ok_or_else(|| ApiError::not_found("the built-in console has no index.html"))?,
            "index.html",
        ),
    };
    Ok((Bytes::from_static(bytes), name.to_string()))
}
