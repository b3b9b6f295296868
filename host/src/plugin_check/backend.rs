//! The backend a data action's fixtures call: canned answers by path, served on loopback for the
//! length of a check and granted to the plugin (`[backend]` of a flow-plugin profile).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// One canned answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Canned {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub body: String,
    #[serde(default = "json")]
    pub content_type: String,
}

fn ok() -> u16 {
    200
}

fn json() -> String {
    "application/json".into()
}

/// A running backend; stops when dropped.
pub struct Backend {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    /// Serves `answers` (path → answer; any other path is a 404) on 127.0.0.1.
    pub async fn start(answers: BTreeMap<String, Canned>) -> anyhow::Result<Backend> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on loopback for the fixtures' backend")?;
        let addr = listener.local_addr()?;
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(Arc::new(answers));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Backend { addr, task })
    }

    /// `http://127.0.0.1:PORT`, what `{backend}` in a fixture's input stands for.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The grant entry that lets the plugin reach it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn answer(
    State(answers): State<Arc<BTreeMap<String, Canned>>>,
    request: Request,
) -> Response {
    match answers.get(request.uri().path()) {
        Some(canned) => (
            StatusCode::from_u16(canned.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            [("content-type", canned.content_type.clone())],
            canned.body.clone(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
