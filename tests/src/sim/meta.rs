//! Meta's Send API for Messenger and Instagram (reference §4.2, §5.2), and the customers who
//! write to a Page or Instagram account (§4.1, §5.1).
//!
//! The send endpoint is `POST /{version}/me/messages?access_token=<Page token>` (a facebook
//! integration's `api_base` is the simulator's base URL). It checks what the real one checks and a
//! host can get wrong: the Page token, the body's shape (`recipient.id`, `messaging_type`, a
//! `message` with text or one attachment, quick replies ≤ 13 with titles ≤ 20 characters, the text
//! limit) and the **24-hour window**: a `RESPONSE` or `UPDATE` more than 24 h after the customer's
//! last message is answered with code 10 / subcode 2018278, as is a `HUMAN_AGENT` send more than 7
//! days after it. The window is counted from the customer webhooks this simulator posted (or from
//! [`PlatformSim::meta_customer_wrote`]); a customer it never saw write has no open window.
//! Refusals are recorded as [`Refused`], scripted [`MetaFault`]s as attempts, the rest as
//! [`Delivered`]. The body checks and the window rule are in [`checks`]; tokens, versions, the
//! error envelope, faults, signing and the verification GET are the Graph API's, shared with the
//! WhatsApp Cloud API in [`super::graph`].

mod checks;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use anyhow::{Context, ensure};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use self::checks::{check_request, sender_action, window_check};
use super::customer::{host_unreachable, unknown_integration};
use super::graph::{
    FaultQueue, GraphCall, GraphError, GraphFault, GraphProduct, access_token, is_graph_version,
    lock,
};
use super::records::{Delivered, Platform, SenderAction};
use super::{PlatformSim, Shared};
use crate::fixtures::unix_millis;

/// The route, in axum's syntax.
pub(crate) const SEND_ROUTE: &str = "/{version}/me/messages";

/// Which product a [`MetaPage`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaPlatform {
    /// `object: "page"` webhooks; PSIDs; 2,000-character texts.
    Messenger,
    /// `object: "instagram"` webhooks; IGSIDs; 1,000-byte texts; only the `HUMAN_AGENT` tag.
    Instagram,
}

impl MetaPlatform {
    /// The facebook adapter's `platform` setting value.
    pub fn from_setting(value: &str) -> Option<Self> {
        match value {
            "messenger" => Some(MetaPlatform::Messenger),
            "instagram" => Some(MetaPlatform::Instagram),
            _ => None,
        }
    }

    fn object(self) -> &'static str {
        match self {
            MetaPlatform::Messenger => "page",
            MetaPlatform::Instagram => "instagram",
        }
    }

    fn record_platform(self) -> Platform {
        match self {
            MetaPlatform::Messenger => Platform::Messenger,
            MetaPlatform::Instagram => Platform::Instagram,
        }
    }
}

/// One Facebook Page (Messenger) or Instagram professional account the host sends as, configured
/// as the host's facebook integration `integration_id` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaPage {
    pub platform: MetaPlatform,
    /// The Page id or Instagram account id: `entry[].id` of its webhooks.
    pub page_id: String,
    /// What the host's send calls carry as `access_token`.
    pub page_access_token: String,
    /// Signs the customer webhooks (`X-Hub-Signature-256`, hex).
    pub app_secret: String,
    /// What [`PlatformSim::meta_verify_webhook`] sends as `hub.verify_token`.
    pub verify_token: String,
    pub integration_id: String,
}

/// A failure the Send API answers with instead of delivering, queued with
/// [`PlatformSim::meta_fail_next`]: the Graph fault every Meta send API shares, answered with
/// the Messenger Platform's codes (see [`GraphFault`]).
pub type MetaFault = GraphFault;

/// The Meta side of the simulator.
pub(crate) struct MetaApi {
    pages: Vec<MetaPage>,
    faults: FaultQueue,
    /// When each (integration, customer) last wrote: the start of the reply window.
    last_customer_message: Mutex<HashMap<(String, String), SystemTime>>,
}

impl MetaApi {
    pub(crate) fn new(pages: Vec<MetaPage>) -> Self {
        Self {
            pages,
            faults: FaultQueue::default(),
            last_customer_message: Mutex::default(),
        }
    }

    fn page_for_integration(&self, integration_id: &str) -> Option<&MetaPage> {
        self.pages
            .iter()
            .find(|page| page.integration_id == integration_id)
    }

    fn page_for_token(&self, token: &str) -> Option<&MetaPage> {
        self.pages
            .iter()
            .find(|page| page.page_access_token == token)
    }

    fn customer_wrote(&self, integration_id: &str, customer_id: &str, at: SystemTime) {
        lock(&self.last_customer_message)
            .insert((integration_id.to_owned(), customer_id.to_owned()), at);
    }

    fn last_customer_message(&self, integration_id: &str, customer_id: &str) -> Option<SystemTime> {
        lock(&self.last_customer_message)
            .get(&(integration_id.to_owned(), customer_id.to_owned()))
            .copied()
    }
}

/// Refuses pages whose calls or webhooks could not be told apart.
pub(crate) fn check_pages(pages: &[MetaPage]) -> anyhow::Result<()> {
    let mut tokens = HashSet::new();
    let mut integrations = HashSet::new();
    for page in pages {
        ensure!(
            tokens.insert(&page.page_access_token),
            "two Meta pages share a page access token"
        );
        ensure!(
            integrations.insert(&page.integration_id),
            "two Meta pages are configured for integration {:?}",
            page.integration_id
        );
    }
    Ok(())
}

/// `POST /{version}/me/messages`.
pub(crate) async fn send(
    State(sim): State<Arc<Shared>>,
    Path(version): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = GraphCall {
        sim: &sim,
        product: GraphProduct::Messenger,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let token = access_token(&uri, &headers);
    let Some(page) = token.and_then(|token| sim.meta.page_for_token(&token)) else {
        let reason = "missing or unknown access token".into();
        return call.refuse(
            Platform::Messenger,
            None,
            reason,
            GraphError::invalid_token(),
        );
    };
    let platform = page.platform.record_platform();
    let integration_id = page.integration_id.as_str();
    let invalid = |reason: String| {
        let error = GraphError::invalid_parameter(GraphProduct::Messenger, &reason);
        call.refuse(platform, Some(integration_id), reason, error)
    };
    let outside_window = |reason: String| {
        let error = GraphFault::WindowClosed.error(GraphProduct::Messenger);
        call.refuse(platform, Some(integration_id), reason, error)
    };

    if !is_graph_version(&version) {
        let error = GraphError::unknown_version(&version);
        let reason = error.details.clone().unwrap_or_default();
        return call.refuse(platform, Some(integration_id), reason, error);
    }
    if let Some(action) = sender_action(&body) {
        let received_at = SystemTime::now();
        let (recipient, action) = match action {
            Ok(parsed) => parsed,
            Err(reason) => return invalid(reason),
        };
        // Sender actions are only allowed inside the 24 h window.
        let last = sim.meta.last_customer_message(integration_id, &recipient);
        if let Err(reason) = window_check(last, received_at, "RESPONSE", None) {
            return outside_window(reason);
        }
        sim.records.sender_action(SenderAction {
            platform,
            integration_id: integration_id.to_owned(),
            recipient_id: recipient.clone(),
            action,
            received_at,
        });
        return (StatusCode::OK, Json(json!({ "recipient_id": recipient }))).into_response();
    }
    let checked = match check_request(page.platform, &headers, &body) {
        Ok(checked) => checked,
        Err(reason) => return invalid(reason),
    };

    let received_at = SystemTime::now();
    if let Some(fault) = sim.meta.faults.next() {
        let sent = (checked.recipient, checked.text);
        return call.fail(platform, integration_id, sent, &fault);
    }
    let last = sim
        .meta
        .last_customer_message(integration_id, &checked.recipient);
    if let Err(reason) = window_check(
        last,
        received_at,
        &checked.messaging_type,
        checked.tag.as_deref(),
    ) {
        return outside_window(reason);
    }

    let message_id = format!("m_{}", sim.ids.next_id());
    let answer = json!({ "recipient_id": checked.recipient, "message_id": message_id });
    sim.records.deliver(
        Delivered {
            platform,
            integration_id: integration_id.to_owned(),
            recipient_id: checked.recipient,
            platform_message_id: message_id,
            text: checked.text,
            body: checked.request,
            headers,
            received_at,
        },
        StatusCode::OK.as_u16(),
    );
    (StatusCode::OK, Json(answer)).into_response()
}

/// What a customer does in a Messenger or Instagram conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaCustomerEvent {
    Text { text: String },
    QuickReply { text: String, payload: String },
    Postback { title: String, payload: String },
}

/// The webhook body Meta posts for one customer event (`entry[0].messaging[0]`), exact bytes.
pub fn meta_webhook_body(
    platform: MetaPlatform,
    page_id: &str,
    customer_id: &str,
    mid: &str,
    timestamp_ms: u64,
    event: &MetaCustomerEvent,
) -> Vec<u8> {
    let (key, payload) = match event {
        MetaCustomerEvent::Text { text } => ("message", json!({ "mid": mid, "text": text })),
        MetaCustomerEvent::QuickReply { text, payload } => (
            "message",
            json!({ "mid": mid, "text": text, "quick_reply": { "payload": payload } }),
        ),
        MetaCustomerEvent::Postback { title, payload } => (
            "postback",
            json!({ "mid": mid, "title": title, "payload": payload }),
        ),
    };
    let mut messaging = Map::new();
    messaging.insert("sender".into(), json!({ "id": customer_id }));
    messaging.insert("recipient".into(), json!({ "id": page_id }));
    messaging.insert("timestamp".into(), json!(timestamp_ms));
    messaging.insert(key.into(), payload);
    json!({
        "object": platform.object(),
        "entry": [{ "id": page_id, "time": timestamp_ms, "messaging": [Value::Object(messaging)] }],
    })
    .to_string()
    .into_bytes()
}

impl Shared {
    /// Posts one signed customer event for a facebook integration and opens the customer's window.
    /// Returns the event's `mid` with the host's status and body.
    async fn send_meta_event(
        &self,
        integration_id: &str,
        customer_id: &str,
        event: &MetaCustomerEvent,
    ) -> anyhow::Result<(String, u16, String)> {
        let page = self
            .meta
            .page_for_integration(integration_id)
            .with_context(|| {
                format!("no Meta page is configured for integration {integration_id:?}")
            })?;
        let now = SystemTime::now();
        let mid = format!("m_sim-{}", self.ids.next_id());
        let body = meta_webhook_body(
            page.platform,
            &page.page_id,
            customer_id,
            &mid,
            unix_millis(now),
            event,
        );
        self.meta.customer_wrote(integration_id, customer_id, now);
        let answer = self
            .post_meta_webhook(integration_id, &page.app_secret, body)
            .await;
        let text = match event {
            MetaCustomerEvent::Text { text } | MetaCustomerEvent::QuickReply { text, .. } => text,
            MetaCustomerEvent::Postback { title, .. } => title,
        };
        self.log_customer(customer_id, integration_id, text, &answer);
        answer.map(|(status, body)| (mid, status, body))
    }
}

impl PlatformSim {
    /// A customer's text message on Messenger (or Instagram, for an Instagram integration): posts
    /// the signed webhook to `{host}/webhooks/{integration_id}`. Returns the host's status and body.
    pub async fn send_messenger_text(
        &self,
        integration_id: &str,
        customer_id: &str,
        text: &str,
    ) -> anyhow::Result<(u16, String)> {
        let event = MetaCustomerEvent::Text { text: text.into() };
        self.send_meta_event(integration_id, customer_id, &event)
            .await
            .map(|(_, status, body)| (status, body))
    }

    /// A customer tapping a quick reply: `message.text` is its title, `quick_reply.payload` its
    /// payload.
    pub async fn send_messenger_quick_reply(
        &self,
        integration_id: &str,
        customer_id: &str,
        text: &str,
        payload: &str,
    ) -> anyhow::Result<(u16, String)> {
        let event = MetaCustomerEvent::QuickReply {
            text: text.into(),
            payload: payload.into(),
        };
        self.send_meta_event(integration_id, customer_id, &event)
            .await
            .map(|(_, status, body)| (status, body))
    }

    /// A customer tapping a postback button (or an Instagram ice breaker).
    pub async fn send_messenger_postback(
        &self,
        integration_id: &str,
        customer_id: &str,
        title: &str,
        payload: &str,
    ) -> anyhow::Result<(u16, String)> {
        let event = MetaCustomerEvent::Postback {
            title: title.into(),
            payload: payload.into(),
        };
        self.send_meta_event(integration_id, customer_id, &event)
            .await
            .map(|(_, status, body)| (status, body))
    }

    /// Any customer event. Returns the `mid` it carried, and the host's status and body.
    pub async fn send_meta_event(
        &self,
        integration_id: &str,
        customer_id: &str,
        event: &MetaCustomerEvent,
    ) -> anyhow::Result<(String, u16, String)> {
        self.shared
            .send_meta_event(integration_id, customer_id, event)
            .await
    }

    /// Sets when the customer last wrote, without a webhook: backdate it to test the window.
    pub fn meta_customer_wrote(&self, integration_id: &str, customer_id: &str, at: SystemTime) {
        self.shared
            .meta
            .customer_wrote(integration_id, customer_id, at);
    }

    /// The next `n` Send API calls that pass the token and body checks are answered with `fault`.
    ///
    /// # Panics
    /// If the fault's status is not 4xx or 5xx.
    pub fn meta_fail_next(&self, n: usize, fault: MetaFault) {
        self.shared.meta.faults.queue(n, fault);
    }

    /// Meta's subscription check: `GET {host}/webhooks/{integration_id}?hub.mode=subscribe&…`
    /// with the page's verify token. Returns the host's status and body (the challenge, if right).
    pub async fn meta_verify_webhook(&self, integration_id: &str) -> anyhow::Result<(u16, String)> {
        let page = self
            .shared
            .meta
            .page_for_integration(integration_id)
            .with_context(|| {
                format!("no Meta page is configured for integration {integration_id:?}")
            })?;
        self.shared
            .verify_meta_webhook(integration_id, &page.verify_token, "1158201444")
            .await
    }
}

/// `POST /sim/messenger/message` and `/sim/instagram/message` body.
#[derive(Deserialize)]
pub(crate) struct MetaMessageRequest {
    integration: String,
    /// The customer's PSID / IGSID.
    from: String,
    text: String,
    /// Sends a quick-reply tap with this payload (`text` is its title).
    quick_reply: Option<String>,
    /// Sends a postback with this payload instead (`text` is the button title).
    postback: Option<String>,
}

/// `POST /sim/messenger/message`: a customer writes to a Page.
pub(crate) async fn post_messenger_message(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<MetaMessageRequest>,
) -> Response {
    post_customer_message(&sim, MetaPlatform::Messenger, request).await
}

/// `POST /sim/instagram/message`: a customer writes to an Instagram account.
pub(crate) async fn post_instagram_message(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<MetaMessageRequest>,
) -> Response {
    post_customer_message(&sim, MetaPlatform::Instagram, request).await
}

async fn post_customer_message(
    sim: &Shared,
    platform: MetaPlatform,
    request: MetaMessageRequest,
) -> Response {
    let kind = match platform {
        MetaPlatform::Messenger => "Messenger page",
        MetaPlatform::Instagram => "Instagram account",
    };
    if sim
        .meta
        .page_for_integration(&request.integration)
        .is_none_or(|page| page.platform != platform)
    {
        return unknown_integration(kind, &request.integration);
    }
    let event = match (request.postback, request.quick_reply) {
        (Some(payload), _) => MetaCustomerEvent::Postback {
            title: request.text,
            payload,
        },
        (None, Some(payload)) => MetaCustomerEvent::QuickReply {
            text: request.text,
            payload,
        },
        (None, None) => MetaCustomerEvent::Text { text: request.text },
    };
    match sim
        .send_meta_event(&request.integration, &request.from, &event)
        .await
    {
        Ok((mid, host_status, host_body)) => Json(json!({
            "host_status": host_status,
            "host_body": host_body,
            "mid": mid,
        }))
        .into_response(),
        Err(e) => host_unreachable(&e),
    }
}
