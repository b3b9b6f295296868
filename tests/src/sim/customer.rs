//! The customer side: signed webhooks posted to the host as the platforms would post them, plus
//! the `/sim/*` routes that let a person drive and inspect the simulator with curl.
//!
//! The client is hyper-util's pooled HTTP/1 client: the same stack the host serves with, and no
//! extra HTTP library in the test build.

use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use axum::Json;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderName, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use crate::fixtures::{self, OpenMessage, XDm};
use crate::signing;

/// Long enough for a slow debug host; short enough that a hung host fails the test instead of
/// hanging it.
const HOST_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// POSTs `body` to `url` and reads the whole answer.
pub(crate) async fn http_post(
    client: &HttpClient,
    url: &str,
    headers: &[(HeaderName, String)],
    body: Vec<u8>,
) -> anyhow::Result<(StatusCode, HeaderMap, Bytes)> {
    let uri: Uri = url
        .parse()
        .with_context(|| format!("{url:?} is not a URL"))?;
    let mut request = Request::post(uri);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .context("building the request")?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .with_context(|| format!("POST {url}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .with_context(|| format!("reading the answer to POST {url}"))?
            .to_bytes();
        anyhow::Ok((parts.status, parts.headers, body))
    };
    tokio::time::timeout(HOST_TIMEOUT, exchange)
        .await
        .with_context(|| format!("POST {url} got no answer within {HOST_TIMEOUT:?}"))?
}

/// Where the host listens; settable after start because a test usually starts the simulator first
/// (the host's config needs its URL) and learns the host's port afterwards.
pub(crate) struct Host {
    pub(crate) base_url: RwLock<Option<String>>,
    pub(crate) client: HttpClient,
}

impl Host {
    pub(crate) fn new(base_url: Option<String>) -> Self {
        Self {
            base_url: RwLock::new(base_url.map(trimmed)),
            client: http_client(),
        }
    }

    pub(crate) fn set_base_url(&self, base_url: String) {
        *self
            .base_url
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(trimmed(base_url));
    }

    /// POSTs a signed webhook to `{host}/webhooks/{integration_id}`; returns the host's status and
    /// body.
    pub(crate) async fn post_webhook(
        &self,
        integration_id: &str,
        body: Vec<u8>,
        signature: (&'static str, String),
    ) -> anyhow::Result<(u16, String)> {
        let base_url = self
            .base_url
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        let Some(base_url) = base_url else {
            bail!("the simulator does not know where the host is: set SimConfig::host_base_url");
        };
        let headers = [
            (CONTENT_TYPE, "application/json".to_owned()),
            (HeaderName::from_static(signature.0), signature.1),
        ];
        let url = format!("{base_url}/webhooks/{integration_id}");
        let (status, _, body) = http_post(&self.client, &url, &headers, body).await?;
        Ok((status.as_u16(), String::from_utf8_lossy(&body).into_owned()))
    }
}

fn trimmed(base_url: String) -> String {
    base_url.trim_end_matches('/').to_owned()
}

impl Shared {
    /// Signs `dm` with the integration's consumer secret and posts it as X would.
    pub(crate) async fn send_x_dm(
        &self,
        integration_id: &str,
        dm: &XDm,
    ) -> anyhow::Result<(u16, String)> {
        let account = self
            .x
            .account_for_integration(integration_id)
            .with_context(|| {
                format!("no X account is configured for integration {integration_id:?}")
            })?;
        let body = fixtures::x_dm(dm);
        let signature = signing::x_signature(&account.consumer_secret, &body);
        let answer = self
            .host
            .post_webhook(
                integration_id,
                body,
                ("x-twitter-webhooks-signature", signature),
            )
            .await;
        self.log_customer(
            &format!("@{}", dm.screen_name),
            integration_id,
            &dm.text,
            &answer,
        );
        answer
    }

    /// Signs `message` with the partner's secret and posts it as an open-messaging partner would.
    pub(crate) async fn send_open_message(
        &self,
        integration_id: &str,
        message: &OpenMessage,
    ) -> anyhow::Result<(u16, String)> {
        let partner = self
            .partners
            .iter()
            .find(|partner| partner.integration_id == integration_id)
            .with_context(|| {
                format!(
                    "no open-messaging partner is configured for integration {integration_id:?}"
                )
            })?;
        let body = fixtures::open_message(message);
        let signature = signing::hub_signature_base64(&partner.secret, &body);
        let answer = self
            .host
            .post_webhook(integration_id, body, ("x-hub-signature-256", signature))
            .await;
        self.log_customer(&message.from_id, integration_id, &message.text, &answer);
        answer
    }

    /// One console line per customer message, so the demo shows both directions.
    pub(crate) fn log_customer(
        &self,
        customer: &str,
        integration_id: &str,
        text: &str,
        answer: &anyhow::Result<(u16, String)>,
    ) {
        if !self.verbose {
            return;
        }
        match answer {
            Ok((status, _)) => {
                println!(
                    "[sim] customer {customer} -> {integration_id}: {text} (host answered {status})"
                )
            }
            Err(e) => println!(
                "[sim] customer {customer} -> {integration_id}: {text} (host unreachable: {e:#})"
            ),
        }
    }
}

/// `POST /sim/x/dm` body: a DM from the handle `from`, written now.
#[derive(Deserialize)]
pub(crate) struct XDmRequest {
    integration: String,
    from: String,
    text: String,
    /// The display name; the handle when absent.
    name: Option<String>,
}

/// `POST /sim/x/dm`: sends a DM from a customer to the host. The sender id is derived from the
/// handle, so one handle is one customer across runs; the event id is fresh, so every call is a
/// new message.
pub(crate) async fn post_x_dm(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<XDmRequest>,
) -> Response {
    let Some(account) = sim.x.account_for_integration(&request.integration) else {
        return unknown_integration("X account", &request.integration);
    };
    let dm = XDm {
        for_user_id: account.account_id.clone(),
        event_id: sim.ids.next_id(),
        sender_id: fixtures::x_user_id_for_handle(&request.from),
        name: request.name.unwrap_or_else(|| request.from.clone()),
        screen_name: request.from,
        text: request.text,
        created_ms: fixtures::unix_millis(SystemTime::now()),
        ..XDm::default()
    };
    match sim.send_x_dm(&request.integration, &dm).await {
        Ok((host_status, host_body)) => Json(json!({
            "host_status": host_status,
            "host_body": host_body,
            "event_id": dm.event_id,
            "sender_id": dm.sender_id,
        }))
        .into_response(),
        Err(e) => host_unreachable(&e),
    }
}

/// `POST /sim/open-messaging/message` body.
#[derive(Deserialize)]
pub(crate) struct OpenMessageRequest {
    integration: String,
    from: String,
    nickname: Option<String>,
    text: String,
}

/// `POST /sim/open-messaging/message`: sends an inbound open message, with a fresh message id and
/// the current time.
pub(crate) async fn post_open_message(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<OpenMessageRequest>,
) -> Response {
    if !sim
        .partners
        .iter()
        .any(|partner| partner.integration_id == request.integration)
    {
        return unknown_integration("open-messaging partner", &request.integration);
    }
    let message = OpenMessage {
        message_id: format!("sim-{}", sim.ids.next_id()),
        from_id: request.from,
        nickname: request.nickname,
        text: request.text,
        time_rfc3339: fixtures::rfc3339_utc(SystemTime::now()),
        attachments: Vec::new(),
    };
    match sim.send_open_message(&request.integration, &message).await {
        Ok((host_status, host_body)) => Json(json!({
            "host_status": host_status,
            "host_body": host_body,
            "message_id": message.message_id,
        }))
        .into_response(),
        Err(e) => host_unreachable(&e),
    }
}

/// 502: the simulator works, the host did not answer.
pub(crate) fn host_unreachable(error: &anyhow::Error) -> Response {
    (
        StatusCode::BAD_GATEWAY,
        Json(json!({ "error": format!("{error:#}") })),
    )
        .into_response()
}

pub(crate) fn unknown_integration(kind: &str, integration_id: &str) -> Response {
    let error = format!("no {kind} is configured for integration {integration_id:?}");
    (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response()
}

/// `GET /sim/delivered`.
pub(crate) async fn list_delivered(State(sim): State<Arc<Shared>>) -> Response {
    Json(sim.records.delivered()).into_response()
}

/// `GET /sim/attempts`.
pub(crate) async fn list_attempts(State(sim): State<Arc<Shared>>) -> Response {
    Json(sim.records.attempts()).into_response()
}

/// `GET /sim/refused`.
pub(crate) async fn list_refused(State(sim): State<Arc<Shared>>) -> Response {
    Json(sim.records.refused()).into_response()
}
