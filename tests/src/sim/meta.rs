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
//! [`Delivered`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, ensure};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::customer::{host_unreachable, unknown_integration};
use super::records::{Attempt, Delivered, Platform, Refused, SenderAction};
use super::{PlatformSim, Shared};
use crate::fixtures::unix_millis;
use crate::signing;

/// The route, in axum's syntax.
pub(crate) const SEND_ROUTE: &str = "/{version}/me/messages";

const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
const HUMAN_AGENT_WINDOW: Duration = Duration::from_secs(7 * 24 * 60 * 60);
const MAX_QUICK_REPLIES: usize = 13;
const MAX_QUICK_REPLY_TITLE_CHARS: usize = 20;
const MESSENGER_TAGS: [&str; 4] = [
    "CONFIRMED_EVENT_UPDATE",
    "POST_PURCHASE_UPDATE",
    "ACCOUNT_UPDATE",
    "HUMAN_AGENT",
];

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
/// [`PlatformSim::meta_fail_next`]. It comes after the token and body checks, before the window
/// check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaFault {
    /// HTTP 400, code 613 "Calls to this api have exceeded the rate limit."
    RateLimited,
    /// Any Graph error: HTTP `status` with `{"error": {code, error_subcode?, message}}`.
    Graph {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
    /// A bare 4xx or 5xx: 5xx come with code 2 (temporary), 4xx with code 100.
    Status(u16),
}

impl MetaFault {
    fn status(&self) -> u16 {
        match self {
            MetaFault::RateLimited => 400,
            MetaFault::Graph { status, .. } | MetaFault::Status(status) => *status,
        }
    }

    fn response(&self) -> Response {
        let status =
            StatusCode::from_u16(self.status()).expect("queued faults have valid statuses");
        match self {
            MetaFault::RateLimited => graph_error(
                status,
                613,
                None,
                "(#613) Calls to this api have exceeded the rate limit.",
            ),
            MetaFault::Graph {
                code,
                subcode,
                message,
                ..
            } => graph_error(status, *code, *subcode, message),
            MetaFault::Status(_) if status.is_server_error() => graph_error(
                status,
                2,
                None,
                "An unexpected error has occurred. Please retry your request later.",
            ),
            MetaFault::Status(_) => graph_error(status, 100, None, "(#100) Invalid parameter"),
        }
    }
}

/// The Meta side of the simulator.
pub(crate) struct MetaApi {
    pages: Vec<MetaPage>,
    faults: Mutex<VecDeque<MetaFault>>,
    /// When each (integration, customer) last wrote: the start of the reply window.
    last_customer_message: Mutex<HashMap<(String, String), SystemTime>>,
}

impl MetaApi {
    pub(crate) fn new(pages: Vec<MetaPage>) -> Self {
        Self {
            pages,
            faults: Mutex::default(),
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
        self.last_customer_message
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert((integration_id.to_owned(), customer_id.to_owned()), at);
    }

    fn last_customer_message(&self, integration_id: &str, customer_id: &str) -> Option<SystemTime> {
        self.last_customer_message
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&(integration_id.to_owned(), customer_id.to_owned()))
            .copied()
    }

    fn queue_faults(&self, n: usize, fault: MetaFault) {
        let status = fault.status();
        assert!(
            (400..=599).contains(&status),
            "a scripted Meta fault needs a 4xx or 5xx status, not {status}"
        );
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend(std::iter::repeat_n(fault, n));
    }

    fn next_fault(&self) -> Option<MetaFault> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
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
    Query(query): Query<HashMap<String, String>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse =
        |platform: Platform, integration_id: Option<&str>, status: StatusCode, reason: String| {
            sim.records.refuse(Refused {
                platform,
                integration_id: integration_id.map(str::to_owned),
                path: uri.path().to_owned(),
                status: status.as_u16(),
                reason,
                headers: headers.clone(),
                body: String::from_utf8_lossy(&body).into_owned(),
                received_at: SystemTime::now(),
            });
        };

    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let token = query.get("access_token").map(String::as_str).or(bearer);
    let Some(page) = token.and_then(|token| sim.meta.page_for_token(token)) else {
        refuse(
            Platform::Messenger,
            None,
            StatusCode::UNAUTHORIZED,
            "missing or unknown access_token".into(),
        );
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        );
    };
    let platform = page.platform.record_platform();
    let integration_id = page.integration_id.as_str();

    if !is_graph_version(&version) {
        let reason = format!("unknown Graph API version {version:?}");
        refuse(
            platform,
            Some(integration_id),
            StatusCode::BAD_REQUEST,
            reason.clone(),
        );
        return graph_error(StatusCode::BAD_REQUEST, 2500, None, &reason);
    }
    if let Some(action) = sender_action(&body) {
        let received_at = SystemTime::now();
        let (recipient, action) = match action {
            Ok(parsed) => parsed,
            Err(reason) => {
                refuse(
                    platform,
                    Some(integration_id),
                    StatusCode::BAD_REQUEST,
                    reason.clone(),
                );
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    100,
                    None,
                    &format!("(#100) {reason}"),
                );
            }
        };
        // Sender actions are only allowed inside the 24 h window.
        let last = sim.meta.last_customer_message(integration_id, &recipient);
        if let Err(reason) = window_check(last, received_at, "RESPONSE", None) {
            refuse(
                platform,
                Some(integration_id),
                StatusCode::BAD_REQUEST,
                reason,
            );
            return graph_error(
                StatusCode::BAD_REQUEST,
                10,
                Some(2_018_278),
                "(#10) This message is sent outside of allowed window.",
            );
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
        Err(reason) => {
            refuse(
                platform,
                Some(integration_id),
                StatusCode::BAD_REQUEST,
                reason.clone(),
            );
            return graph_error(
                StatusCode::BAD_REQUEST,
                100,
                None,
                &format!("(#100) {reason}"),
            );
        }
    };

    let received_at = SystemTime::now();
    if let Some(fault) = sim.meta.next_fault() {
        sim.records.fail(Attempt {
            platform,
            integration_id: integration_id.to_owned(),
            recipient_id: checked.recipient,
            text: checked.text,
            status: fault.status(),
            received_at,
        });
        return fault.response();
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
        refuse(
            platform,
            Some(integration_id),
            StatusCode::BAD_REQUEST,
            reason,
        );
        return graph_error(
            StatusCode::BAD_REQUEST,
            10,
            Some(2_018_278),
            "(#10) This message is sent outside of allowed window.",
        );
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

/// A body with `sender_action`: `None` when it is a message send, else the recipient and the
/// action, or why the body is invalid.
fn sender_action(body: &[u8]) -> Option<Result<(String, String), String>> {
    let request: Value = serde_json::from_slice(body).ok()?;
    let action = request.get("sender_action")?;
    Some((|| {
        let action = action
            .as_str()
            .filter(|a| {
                matches!(
                    a.to_ascii_lowercase().as_str(),
                    "typing_on" | "typing_off" | "mark_seen"
                )
            })
            .ok_or_else(|| {
                format!("sender_action {action} is not typing_on, typing_off or mark_seen")
            })?;
        if request.get("message").is_some() {
            return Err("sender_action cannot be sent with a message".to_string());
        }
        let recipient = request
            .get("recipient")
            .and_then(|r| r.get("id"))
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or("recipient.id must be a non-empty string")?;
        Ok((recipient.to_string(), action.to_string()))
    })())
}

/// `v` followed by a version number, e.g. `v21.0`.
fn is_graph_version(version: &str) -> bool {
    version.strip_prefix('v').is_some_and(|number| {
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    })
}

/// A send body that passed the checks.
#[derive(Debug)]
struct Checked {
    request: Value,
    recipient: String,
    text: Option<String>,
    /// `RESPONSE` when Instagram's body leaves it out.
    messaging_type: String,
    tag: Option<String>,
}

/// Checks a send body as the Send API would; returns it or why it is invalid.
fn check_request(
    platform: MetaPlatform,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Checked, String> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(format!(
            "Content-Type must be application/json, not {content_type:?}"
        ));
    }
    let request: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(fields) = &request else {
        return Err("the body must be a JSON object".into());
    };
    if let Some(unknown) = fields.keys().find(|key| {
        !matches!(
            key.as_str(),
            "recipient" | "messaging_type" | "message" | "tag" | "notification_type"
        )
    }) {
        return Err(format!("param {unknown} is not a valid parameter"));
    }
    let recipient = fields
        .get("recipient")
        .and_then(|recipient| recipient.get("id"))
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or("recipient.id must be a non-empty string")?
        .to_owned();

    let messaging_type = match (fields.get("messaging_type"), platform) {
        (Some(Value::String(kind)), _)
            if matches!(kind.as_str(), "RESPONSE" | "UPDATE" | "MESSAGE_TAG") =>
        {
            kind.clone()
        }
        (None, MetaPlatform::Instagram) => "RESPONSE".to_owned(),
        (None, MetaPlatform::Messenger) => return Err("messaging_type is required".into()),
        (Some(other), _) => {
            return Err(format!(
                "messaging_type {other} is not RESPONSE, UPDATE or MESSAGE_TAG"
            ));
        }
    };
    let tag = match fields.get("tag") {
        None => None,
        Some(Value::String(tag)) => Some(tag.clone()),
        Some(other) => return Err(format!("tag must be a string, not {other}")),
    };
    match (messaging_type.as_str(), tag.as_deref()) {
        ("MESSAGE_TAG", None) => return Err("messaging_type MESSAGE_TAG needs a tag".into()),
        ("MESSAGE_TAG", Some(tag)) => {
            let allowed = match platform {
                MetaPlatform::Messenger => MESSENGER_TAGS.contains(&tag),
                MetaPlatform::Instagram => tag == "HUMAN_AGENT",
            };
            if !allowed {
                return Err(format!("tag {tag} is not available here"));
            }
        }
        (_, Some(_)) => return Err("a tag needs messaging_type MESSAGE_TAG".into()),
        (_, None) => {}
    }

    let Some(Value::Object(message)) = fields.get("message") else {
        return Err("message must be an object".into());
    };
    if let Some(unknown) = message.keys().find(|key| {
        !matches!(
            key.as_str(),
            "text" | "attachment" | "quick_replies" | "metadata"
        )
    }) {
        return Err(format!("param message[{unknown}] is not a valid parameter"));
    }
    let text = match (message.get("text"), message.get("attachment")) {
        (Some(_), Some(_)) => return Err("message must have text or attachment, not both".into()),
        (None, None) => return Err("message must have text or attachment".into()),
        (Some(Value::String(text)), None) => {
            check_text(platform, text)?;
            Some(text.clone())
        }
        (Some(_), None) => return Err("message[text] must be a string".into()),
        (None, Some(attachment)) => {
            check_attachment(platform, attachment)?;
            None
        }
    };
    if let Some(replies) = message.get("quick_replies") {
        check_quick_replies(replies)?;
    }
    Ok(Checked {
        request,
        recipient,
        text,
        messaging_type,
        tag,
    })
}

fn check_text(platform: MetaPlatform, text: &str) -> Result<(), String> {
    let (length, limit, unit) = match platform {
        MetaPlatform::Messenger => (text.chars().count(), 2_000, "characters"),
        MetaPlatform::Instagram => (text.len(), 1_000, "bytes"),
    };
    if length == 0 || length > limit {
        return Err(format!(
            "message[text] must be 1 to {limit} {unit}, not {length}"
        ));
    }
    Ok(())
}

fn check_attachment(platform: MetaPlatform, attachment: &Value) -> Result<(), String> {
    let kind = attachment.get("type").and_then(Value::as_str).unwrap_or("");
    let kinds: &[&str] = match platform {
        MetaPlatform::Messenger => &["image", "audio", "video", "file"],
        MetaPlatform::Instagram => &["image", "audio", "video"],
    };
    if !kinds.contains(&kind) {
        return Err(format!(
            "message[attachment][type] {kind:?} must be one of {}",
            kinds.join(", ")
        ));
    }
    let payload = attachment.get("payload").and_then(Value::as_object);
    let names = |payload: &Map<String, Value>, key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .is_some_and(|value| !value.is_empty())
    };
    match payload {
        Some(payload) if names(payload, "url") || names(payload, "attachment_id") => Ok(()),
        _ => Err("message[attachment][payload] needs a url or an attachment_id".into()),
    }
}

fn check_quick_replies(replies: &Value) -> Result<(), String> {
    let Some(replies) = replies.as_array() else {
        return Err("message[quick_replies] must be an array".into());
    };
    if replies.is_empty() || replies.len() > MAX_QUICK_REPLIES {
        return Err(format!(
            "message[quick_replies] must hold 1 to {MAX_QUICK_REPLIES} items, not {}",
            replies.len()
        ));
    }
    for (n, reply) in replies.iter().enumerate() {
        if reply.get("content_type").and_then(Value::as_str) != Some("text") {
            return Err(format!(
                "message[quick_replies][{n}][content_type] must be text"
            ));
        }
        let title = reply.get("title").and_then(Value::as_str).unwrap_or("");
        let chars = title.chars().count();
        if chars == 0 || chars > MAX_QUICK_REPLY_TITLE_CHARS {
            return Err(format!(
                "Length of param message[quick_replies][{n}][title] must be less than or equal to {MAX_QUICK_REPLY_TITLE_CHARS}"
            ));
        }
        if reply
            .get("payload")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(format!("message[quick_replies][{n}][payload] is required"));
        }
    }
    Ok(())
}

/// The platform's window rule: anything within 24 h of the customer's last message, then only
/// tagged sends (`HUMAN_AGENT` up to 7 days; Messenger's other tags any time).
fn window_check(
    last: Option<SystemTime>,
    now: SystemTime,
    messaging_type: &str,
    tag: Option<&str>,
) -> Result<(), String> {
    let Some(last) = last else {
        return Err(
            "outside the window: the simulator saw no message from this customer (post one with \
             send_messenger_text, or set it with meta_customer_wrote)"
                .into(),
        );
    };
    let since = now.duration_since(last).unwrap_or_default();
    let hours = since.as_secs() / 3600;
    if since < WINDOW {
        return Ok(());
    }
    match (messaging_type, tag) {
        ("MESSAGE_TAG", Some("HUMAN_AGENT")) if since < HUMAN_AGENT_WINDOW => Ok(()),
        ("MESSAGE_TAG", Some("HUMAN_AGENT")) => Err(format!(
            "outside the HUMAN_AGENT window: the customer last wrote {hours} h ago (7 days allowed)"
        )),
        ("MESSAGE_TAG", Some(_)) => Ok(()),
        _ => Err(format!(
            "outside the 24 h window: the customer last wrote {hours} h ago; send with the \
             HUMAN_AGENT tag"
        )),
    }
}

/// The Graph API's error envelope.
fn graph_error(status: StatusCode, code: i64, subcode: Option<i64>, message: &str) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "ASimulatorTrace",
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    (status, Json(json!({ "error": error }))).into_response()
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
        let signature = signing::hub_signature_hex(&page.app_secret, &body);
        let answer = self
            .host
            .post_webhook(integration_id, body, ("x-hub-signature-256", signature))
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
        self.shared.meta.queue_faults(n, fault);
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
        let base_url = self
            .shared
            .host
            .base_url
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .context(
                "the simulator does not know where the host is: set SimConfig::host_base_url",
            )?;
        let token: String = page
            .verify_token
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let url = format!(
            "{base_url}/webhooks/{integration_id}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
        );
        let response = self
            .shared
            .host
            .client
            .get(
                url.parse()
                    .with_context(|| format!("{url:?} is not a URL"))?,
            )
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .context("reading the answer")?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
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

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::{HeaderName, HeaderValue};
    use axum::routing::post;
    use tokio::net::TcpListener;

    use super::super::SimConfig;
    use super::super::customer::{http_client, http_post};
    use super::*;

    const APP_SECRET: &str = "fixture-app-secret";
    const PAGE_TOKEN: &str = "fixture-page-token";
    const IG_TOKEN: &str = "fixture-ig-token";
    const PSID: &str = "7000000000000004";

    fn sim_config(host_base_url: Option<String>) -> SimConfig {
        SimConfig {
            meta_pages: vec![
                MetaPage {
                    platform: MetaPlatform::Messenger,
                    page_id: "600000000000003".into(),
                    page_access_token: PAGE_TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    verify_token: "fixture verify+token".into(),
                    integration_id: "fb-demo".into(),
                },
                MetaPage {
                    platform: MetaPlatform::Instagram,
                    page_id: "17841400000000005".into(),
                    page_access_token: IG_TOKEN.into(),
                    app_secret: APP_SECRET.into(),
                    verify_token: "ig-verify".into(),
                    integration_id: "ig-demo".into(),
                },
            ],
            host_base_url,
            ..SimConfig::default()
        }
    }

    type Inbox = Arc<Mutex<Vec<(String, Value)>>>;

    /// A stand-in host: checks Meta's hex signature, keeps the body, answers verification GETs.
    async fn start_host() -> (String, Inbox) {
        async fn webhook(
            State(inbox): State<Inbox>,
            Path(integration): Path<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> (StatusCode, &'static str) {
            let expected = signing::hub_signature_hex(APP_SECRET, &body);
            if headers
                .get("x-hub-signature-256")
                .is_none_or(|v| v != expected.as_str())
            {
                return (StatusCode::UNAUTHORIZED, "bad signature");
            }
            let value = serde_json::from_slice(&body).unwrap();
            inbox.lock().unwrap().push((integration, value));
            (StatusCode::OK, "EVENT_RECEIVED")
        }
        async fn verify(Query(query): Query<HashMap<String, String>>) -> (StatusCode, String) {
            match (query.get("hub.mode"), query.get("hub.verify_token")) {
                (Some(mode), Some(token))
                    if mode == "subscribe" && token == "fixture verify+token" =>
                {
                    (StatusCode::OK, query["hub.challenge"].clone())
                }
                _ => (StatusCode::FORBIDDEN, "no".into()),
            }
        }
        let inbox = Inbox::default();
        let host = Router::new()
            .route("/webhooks/{integration}", post(webhook).get(verify))
            .with_state(inbox.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, host).into_future());
        (url, inbox)
    }

    /// What the facebook adapter's `encode_send` asks the host to do.
    async fn send(sim: &PlatformSim, token: &str, body: Value) -> (StatusCode, Value) {
        let url = format!("{}/v21.0/me/messages?access_token={token}", sim.base_url());
        let headers = [(CONTENT_TYPE, "application/json".to_owned())];
        let (status, _, body) = http_post(
            &http_client(),
            &url,
            &headers,
            body.to_string().into_bytes(),
        )
        .await
        .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn reply(recipient: &str, text: &str) -> Value {
        json!({"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": {"text": text}})
    }

    #[tokio::test]
    async fn customers_write_and_the_page_answers_within_the_window() {
        let (host_url, inbox) = start_host().await;
        let sim = PlatformSim::start(sim_config(Some(host_url)))
            .await
            .unwrap();

        assert_eq!(
            sim.send_messenger_text("fb-demo", PSID, "Where is my order?")
                .await
                .unwrap(),
            (200, "EVENT_RECEIVED".into())
        );
        assert_eq!(
            sim.send_messenger_quick_reply("fb-demo", PSID, "Track", "QR_TRACK")
                .await
                .unwrap()
                .0,
            200
        );
        assert_eq!(
            sim.send_messenger_postback("ig-demo", "8000000000000006", "Shipping", "ICEBREAKER")
                .await
                .unwrap()
                .0,
            200
        );
        assert!(sim.send_messenger_text("nope", PSID, "hi").await.is_err());
        let received = inbox.lock().unwrap().clone();
        assert_eq!(received.len(), 3);
        let first = &received[0].1;
        assert_eq!(received[0].0, "fb-demo");
        assert_eq!(first["object"], "page");
        assert_eq!(first["entry"][0]["id"], "600000000000003");
        let event = &first["entry"][0]["messaging"][0];
        assert_eq!(event["sender"]["id"], PSID);
        assert_eq!(event["message"]["text"], "Where is my order?");
        assert!(
            event["message"]["mid"]
                .as_str()
                .unwrap()
                .starts_with("m_sim-")
        );
        assert_eq!(
            received[1].1["entry"][0]["messaging"][0]["message"]["quick_reply"]["payload"],
            "QR_TRACK"
        );
        assert_eq!(received[2].1["object"], "instagram");
        assert_eq!(
            received[2].1["entry"][0]["messaging"][0]["postback"]["payload"],
            "ICEBREAKER"
        );

        let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "It shipped today.")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["recipient_id"], PSID);
        let message_id = answer["message_id"].as_str().unwrap().to_owned();
        assert!(message_id.starts_with("m_"), "{message_id}");
        let ig = json!({"recipient": {"id": "8000000000000006"}, "message": {"text": "2-3 days."}});
        assert_eq!(send(&sim, IG_TOKEN, ig).await.0, StatusCode::OK);

        let delivered = sim
            .wait_for_delivered(2, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(
            (
                delivered[0].platform,
                delivered[0].integration_id.as_str(),
                delivered[0].recipient_id.as_str()
            ),
            (Platform::Messenger, "fb-demo", PSID)
        );
        assert_eq!(delivered[0].platform_message_id, message_id);
        assert_eq!(delivered[0].text.as_deref(), Some("It shipped today."));
        assert_eq!(delivered[1].platform, Platform::Instagram);

        assert_eq!(
            sim.meta_verify_webhook("fb-demo").await.unwrap(),
            (200, "1158201444".into())
        );
        assert_eq!(sim.meta_verify_webhook("ig-demo").await.unwrap().0, 403);
    }

    #[tokio::test]
    async fn the_window_tokens_and_faults() {
        let sim = PlatformSim::start(sim_config(None)).await.unwrap();

        // A customer the page never heard from.
        let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "Hi")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(
            (
                answer["error"]["code"].clone(),
                answer["error"]["error_subcode"].clone()
            ),
            (json!(10), json!(2_018_278))
        );

        // 25 h ago: only HUMAN_AGENT gets through, and only on the right integration.
        let day_ago = SystemTime::now() - Duration::from_secs(25 * 3600);
        sim.meta_customer_wrote("fb-demo", PSID, day_ago);
        assert_eq!(
            send(&sim, PAGE_TOKEN, reply(PSID, "late")).await.0,
            StatusCode::BAD_REQUEST
        );
        let tagged = json!({"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": "Sam here"}});
        assert_eq!(
            send(&sim, PAGE_TOKEN, tagged.clone()).await.0,
            StatusCode::OK
        );
        let eight_days_ago = SystemTime::now() - Duration::from_secs(8 * 24 * 3600);
        sim.meta_customer_wrote("fb-demo", PSID, eight_days_ago);
        assert_eq!(
            send(&sim, PAGE_TOKEN, tagged).await.1["error"]["error_subcode"],
            2_018_278
        );

        // Tokens and bodies.
        let (status, answer) = send(&sim, "stolen", reply(PSID, "Hi")).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (StatusCode::UNAUTHORIZED, json!(190))
        );
        let (status, answer) = send(
            &sim,
            PAGE_TOKEN,
            json!({"recipient": {"id": PSID}, "message": {"text": "Hi"}}),
        )
        .await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (StatusCode::BAD_REQUEST, json!(100))
        );

        // Faults come before the window check.
        sim.meta_customer_wrote("fb-demo", PSID, SystemTime::now());
        sim.meta_fail_next(1, MetaFault::RateLimited);
        sim.meta_fail_next(1, MetaFault::Status(503));
        sim.meta_fail_next(
            1,
            MetaFault::Graph {
                status: 400,
                code: 551,
                subcode: Some(1_545_041),
                message: "This person isn't available right now.".into(),
            },
        );
        assert_eq!(
            send(&sim, PAGE_TOKEN, reply(PSID, "1")).await.1["error"]["code"],
            613
        );
        let (status, answer) = send(&sim, PAGE_TOKEN, reply(PSID, "2")).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (StatusCode::SERVICE_UNAVAILABLE, json!(2))
        );
        assert_eq!(
            send(&sim, PAGE_TOKEN, reply(PSID, "3")).await.1["error"]["code"],
            551
        );
        assert_eq!(
            send(&sim, PAGE_TOKEN, reply(PSID, "4")).await.0,
            StatusCode::OK
        );

        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [200, 400, 503, 400, 200]
        );
        let refused: Vec<_> = sim
            .refused()
            .iter()
            .map(|r| (r.platform, r.integration_id.clone(), r.status))
            .collect();
        let fb = Some("fb-demo".to_owned());
        assert_eq!(
            refused,
            [
                (Platform::Messenger, fb.clone(), 400),
                (Platform::Messenger, fb.clone(), 400),
                (Platform::Messenger, fb.clone(), 400),
                (Platform::Messenger, None, 401),
                (Platform::Messenger, fb, 400),
            ]
        );
        assert!(
            sim.refused()[0]
                .reason
                .contains("no message from this customer")
        );
        assert!(
            sim.refused()[1].reason.contains("25 h ago"),
            "{}",
            sim.refused()[1].reason
        );
    }

    #[tokio::test]
    async fn the_curl_routes() {
        let (host_url, inbox) = start_host().await;
        let sim = PlatformSim::start(sim_config(Some(host_url)))
            .await
            .unwrap();
        let post_json = |path: &str, body: Value| {
            let url = format!("{}{path}", sim.base_url());
            async move {
                let headers = [(
                    HeaderName::from_static("content-type"),
                    "application/json".to_owned(),
                )];
                let (status, _, body) = http_post(
                    &http_client(),
                    &url,
                    &headers,
                    body.to_string().into_bytes(),
                )
                .await
                .unwrap();
                (status, serde_json::from_slice::<Value>(&body).unwrap())
            }
        };
        let (status, answer) = post_json(
            "/sim/messenger/message",
            json!({"integration": "fb-demo", "from": PSID, "text": "hello"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(answer["host_status"], 200);
        let first_mid = answer["mid"].clone();
        let (_, answer) = post_json(
            "/sim/messenger/message",
            json!({"integration": "fb-demo", "from": PSID, "text": "Talk to an agent", "postback": "CARE_HELP"}),
        )
        .await;
        assert_eq!(answer["host_status"], 200);
        let (_, answer) = post_json("/sim/instagram/message", json!({"integration": "ig-demo", "from": "8000000000000006", "text": "Size M", "quick_reply": "QR_M"})).await;
        assert_eq!(answer["host_status"], 200);
        let (status, _) = post_json(
            "/sim/instagram/message",
            json!({"integration": "fb-demo", "from": PSID, "text": "hi"}),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        let received = inbox.lock().unwrap().clone();
        assert_eq!(received.len(), 3);
        let event = &received[0].1["entry"][0]["messaging"][0];
        assert_eq!(event["message"]["text"], "hello");
        assert_eq!(event["message"]["mid"], first_mid);
        assert_eq!(
            received[1].1["entry"][0]["messaging"][0]["postback"]["payload"],
            "CARE_HELP"
        );
        assert_eq!(
            received[2].1["entry"][0]["messaging"][0]["message"]["quick_reply"]["payload"],
            "QR_M"
        );
        // The customer wrote through the route, so the window is open.
        assert_eq!(
            send(&sim, PAGE_TOKEN, reply(PSID, "Hi!")).await.0,
            StatusCode::OK
        );
    }

    fn json_headers() -> HeaderMap {
        HeaderMap::from_iter([(CONTENT_TYPE, HeaderValue::from_static("application/json"))])
    }

    fn check(platform: MetaPlatform, body: Value) -> Result<Checked, String> {
        check_request(platform, &json_headers(), body.to_string().as_bytes())
    }

    fn text_body(text: &str) -> Value {
        json!({"recipient": {"id": "7000000000000004"}, "messaging_type": "RESPONSE", "message": {"text": text}})
    }

    #[test]
    fn accepts_what_the_send_api_accepts() {
        let checked = check(
            MetaPlatform::Messenger,
            text_body("Your order shipped today."),
        )
        .unwrap();
        assert_eq!(checked.recipient, "7000000000000004");
        assert_eq!(checked.text.as_deref(), Some("Your order shipped today."));
        assert_eq!(checked.messaging_type, "RESPONSE");

        let tagged = json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT",
            "message": {"text": "hi", "quick_replies": [{"content_type": "text", "title": "Track parcel", "payload": "QR_TRACK"}]}});
        assert_eq!(
            check(MetaPlatform::Instagram, tagged)
                .unwrap()
                .tag
                .as_deref(),
            Some("HUMAN_AGENT")
        );
        let image = json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE",
            "message": {"attachment": {"type": "image", "payload": {"url": "https://x.invalid/a.png"}}}});
        assert_eq!(check(MetaPlatform::Messenger, image).unwrap().text, None);
        let instagram = json!({"recipient": {"id": "8"}, "message": {"text": "é".repeat(500)}});
        assert_eq!(
            check(MetaPlatform::Instagram, instagram)
                .unwrap()
                .messaging_type,
            "RESPONSE"
        );
        assert!(check(MetaPlatform::Messenger, text_body(&"é".repeat(2_000))).is_ok());
    }

    #[test]
    fn rejects_what_the_send_api_rejects() {
        let qr = |title: &str| json!({"content_type": "text", "title": title, "payload": "P"});
        let with_message = |message: Value| json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "message": message});
        let cases = [
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {}, "messaging_type": "RESPONSE", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "PROMO", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "tag": "HUMAN_AGENT", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Instagram,
                json!({"recipient": {"id": "7"}, "messaging_type": "MESSAGE_TAG", "tag": "ACCOUNT_UPDATE", "message": {"text": "hi"}}),
            ),
            (
                MetaPlatform::Messenger,
                json!({"recipient": {"id": "7"}, "messaging_type": "RESPONSE", "message": {"text": "hi"}, "extra": 1}),
            ),
            (MetaPlatform::Messenger, with_message(json!({}))),
            (MetaPlatform::Messenger, with_message(json!({"text": ""}))),
            (MetaPlatform::Messenger, text_body(&"x".repeat(2_001))),
            (MetaPlatform::Instagram, text_body(&"é".repeat(501))),
            (
                MetaPlatform::Messenger,
                with_message(
                    json!({"text": "hi", "attachment": {"type": "image", "payload": {"url": "u"}}}),
                ),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"attachment": {"type": "sticker", "payload": {"url": "u"}}})),
            ),
            (
                MetaPlatform::Instagram,
                with_message(json!({"attachment": {"type": "file", "payload": {"url": "u"}}})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"attachment": {"type": "image", "payload": {}}})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"text": "hi", "quick_replies": [qr(&"x".repeat(21))]})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(json!({"text": "hi", "quick_replies": vec![qr("a"); 14]})),
            ),
            (
                MetaPlatform::Messenger,
                with_message(
                    json!({"text": "hi", "quick_replies": [{"content_type": "text", "title": "a"}]}),
                ),
            ),
            (MetaPlatform::Messenger, json!(["hi"])),
        ];
        for (platform, body) in cases {
            assert!(
                check(platform, body.clone()).is_err(),
                "{platform:?} {body} should be rejected"
            );
        }
        assert!(
            check_request(
                MetaPlatform::Messenger,
                &HeaderMap::new(),
                text_body("hi").to_string().as_bytes()
            )
            .is_err()
        );
        assert!(check_request(MetaPlatform::Messenger, &json_headers(), b"text=hi").is_err());
        let thirteen =
            with_message(json!({"text": "hi", "quick_replies": vec![qr(&"é".repeat(20)); 13]}));
        assert!(check(MetaPlatform::Messenger, thirteen).is_ok());
    }

    #[test]
    fn the_window_rules() {
        let now = SystemTime::now();
        let hours = |h: u64| now - Duration::from_secs(h * 3600);
        assert!(window_check(Some(hours(23)), now, "RESPONSE", None).is_ok());
        assert!(window_check(Some(hours(23)), now, "UPDATE", None).is_ok());
        let closed = window_check(Some(hours(25)), now, "RESPONSE", None).unwrap_err();
        assert!(closed.contains("25 h ago"), "{closed}");
        assert!(window_check(None, now, "RESPONSE", None).is_err());
        assert!(window_check(None, now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_err());
        assert!(window_check(Some(hours(25)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert!(window_check(Some(hours(167)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_ok());
        assert!(window_check(Some(hours(169)), now, "MESSAGE_TAG", Some("HUMAN_AGENT")).is_err());
        assert!(window_check(Some(hours(400)), now, "MESSAGE_TAG", Some("ACCOUNT_UPDATE")).is_ok());
    }

    #[test]
    fn graph_versions() {
        assert!(is_graph_version("v21.0"));
        assert!(is_graph_version("v3"));
        assert!(!is_graph_version("21.0"));
        assert!(!is_graph_version("v"));
        assert!(!is_graph_version("vX"));
    }

    #[test]
    fn webhook_bodies_match_the_reference_shape() {
        let body = meta_webhook_body(
            MetaPlatform::Messenger,
            "600000000000003",
            "7000000000000004",
            "m_FIXTURE-mid-0001",
            1_790_000_000_321,
            &MetaCustomerEvent::QuickReply {
                text: "Where is my order?".into(),
                payload: "QR_ORDER_STATUS".into(),
            },
        );
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            json!({ "object": "page", "entry": [ { "id": "600000000000003", "time": 1790000000321u64, "messaging": [
                { "sender": { "id": "7000000000000004" }, "recipient": { "id": "600000000000003" }, "timestamp": 1790000000321u64,
                  "message": { "mid": "m_FIXTURE-mid-0001", "text": "Where is my order?",
                               "quick_reply": { "payload": "QR_ORDER_STATUS" } } } ] } ] })
        );
        let postback = meta_webhook_body(
            MetaPlatform::Instagram,
            "17841400000000005",
            "8000000000000006",
            "aWdf",
            1,
            &MetaCustomerEvent::Postback {
                title: "Talk to an agent".into(),
                payload: "CARE_HELP".into(),
            },
        );
        let value: Value = serde_json::from_slice(&postback).unwrap();
        assert_eq!(value["object"], "instagram");
        assert_eq!(
            value["entry"][0]["messaging"][0]["postback"],
            json!({"mid": "aWdf", "title": "Talk to an agent", "payload": "CARE_HELP"})
        );
    }

    #[test]
    fn pages_must_be_distinguishable() {
        let page = MetaPage {
            platform: MetaPlatform::Messenger,
            page_id: "600000000000003".into(),
            page_access_token: "t".into(),
            app_secret: "s".into(),
            verify_token: "v".into(),
            integration_id: "fb".into(),
        };
        assert!(check_pages(std::slice::from_ref(&page)).is_ok());
        let same_token = MetaPage {
            integration_id: "ig".into(),
            ..page.clone()
        };
        assert!(check_pages(&[page.clone(), same_token]).is_err());
        let same_integration = MetaPage {
            page_access_token: "u".into(),
            ..page.clone()
        };
        assert!(check_pages(&[page, same_integration]).is_err());
    }
}
