//! The WhatsApp Cloud API (reference §3): the send endpoint the host replies through, and the
//! customers' side that posts signed webhooks to the host.
//!
//! The send endpoint makes the checks the real one makes and a host can get wrong: the access
//! token of the business number named in the path, a Graph API version in the path, a JSON body
//! with `messaging_product: "whatsapp"`, a recipient and a well-formed message of a known type
//! (text of 1-4,096 characters, a template with a name and language, interactive buttons or lists
//! within their limits, media by `id` or `link`; see [`checks`]). What fails them is refused with
//! Graph's error envelope (code 190 or 100). What passes is answered with the next scripted
//! [`WhatsAppFault`], or held to the **24-hour customer-service window** (§3.5): free-form
//! messages to a customer whose last message to that number is older than 24 hours (or who never
//! wrote) fail with code 131047, as Meta answers; templates always pass. The simulator knows when
//! a customer last wrote because it posts the customers' messages itself
//! ([`PlatformSim::send_whatsapp_text`]); [`PlatformSim::whatsapp_set_last_inbound`] sets it for a
//! test that posts webhooks another way, or ages it. Mark-read calls (`status: "read"`) are kept
//! apart ([`PlatformSim::whatsapp_read_marks`]).
//!
//! Tokens, versions, the error envelope, faults, signing and the verification GET are the Graph
//! API's, shared with the Messenger and Instagram Send API in [`super::graph`].

mod checks;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::checks::{Call, check_request};
use super::customer::{host_unreachable, unknown_integration};
use super::graph::{
    FaultQueue, GraphCall, GraphError, GraphFault, GraphProduct, access_token, is_graph_version,
    lock,
};
use super::records::{Delivered, Platform};
use super::{PlatformSim, Shared};
use crate::fixtures::unix_millis;
use crate::fixtures::whatsapp::{
    WaContent, WaInbound, WaStatus, whatsapp_message, whatsapp_status,
};

/// The send route, in axum's syntax: `{api_base}/{api_version}/{phone_number_id}/messages` with
/// the simulator's base URL as `api_base`.
///
/// Messenger and Instagram send through the same Graph path shape (`/{version}/{page_id}/messages`),
/// so a simulator for them must dispatch from this one route rather than register its own.
pub(crate) const SEND_ROUTE: &str = "/{version}/{phone_number_id}/messages";
/// `POST` `{"integration","from"[,"name"],"text"}` or `{…,"reply_id","reply_title"[,"context"]}`.
pub(crate) const CUSTOMER_ROUTE: &str = "/sim/whatsapp/message";

/// The customer-service window.
const WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// One business number the host sends from: its send calls carry `access_token`, its webhooks are
/// signed with `app_secret`, and the host's WhatsApp integration `integration_id` answers Meta's
/// verification with `verify_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhatsAppNumber {
    /// Digits; the `{phone_number_id}` of the send URL and `metadata.phone_number_id` of webhooks.
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    pub integration_id: String,
}

/// A failure the WhatsApp send API answers with instead of delivering, queued with
/// [`PlatformSim::whatsapp_fail_next`]: the Graph fault every Meta send API shares, answered with
/// WhatsApp's codes (see [`GraphFault`]).
pub type WhatsAppFault = GraphFault;

/// A mark-read call: the host told WhatsApp the business read the customer's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatsAppReadMark {
    pub integration_id: String,
    pub message_id: String,
}

/// The WhatsApp side of the simulator.
pub(crate) struct WhatsAppApi {
    numbers: Vec<WhatsAppNumber>,
    faults: FaultQueue,
    /// When each customer last wrote to each number: `(phone_number_id, wa_id)` → time.
    last_inbound: Mutex<HashMap<(String, String), SystemTime>>,
    read_marks: Mutex<Vec<WhatsAppReadMark>>,
}

impl WhatsAppApi {
    pub(crate) fn new(numbers: Vec<WhatsAppNumber>) -> Self {
        Self {
            numbers,
            faults: FaultQueue::default(),
            last_inbound: Mutex::default(),
            read_marks: Mutex::default(),
        }
    }

    fn number_for_integration(&self, integration_id: &str) -> anyhow::Result<&WhatsAppNumber> {
        self.numbers
            .iter()
            .find(|number| number.integration_id == integration_id)
            .with_context(|| {
                format!("no WhatsApp number is configured for integration {integration_id:?}")
            })
    }

    fn number_for_token(&self, token: &str) -> Option<&WhatsAppNumber> {
        self.numbers
            .iter()
            .find(|number| number.access_token == token)
    }

    fn note_inbound(&self, phone_number_id: &str, wa_id: &str, at: SystemTime) {
        lock(&self.last_inbound).insert((phone_number_id.to_owned(), digits(wa_id)), at);
    }

    /// Whether free-form messages may go to `wa_id` now.
    fn window_open(&self, phone_number_id: &str, wa_id: &str) -> bool {
        let key = (phone_number_id.to_owned(), digits(wa_id));
        lock(&self.last_inbound).get(&key).is_some_and(|last| {
            SystemTime::now()
                .duration_since(*last)
                .map_or(true, |age| age < WINDOW)
        })
    }
}

/// Phone numbers compare by their digits (`+49 151…` is `49151…`).
fn digits(number: &str) -> String {
    number.chars().filter(char::is_ascii_digit).collect()
}

/// Refuses numbers whose calls or webhooks could not be told apart.
pub(crate) fn check_numbers(numbers: &[WhatsAppNumber]) -> anyhow::Result<()> {
    let (mut tokens, mut ids, mut integrations) = (HashSet::new(), HashSet::new(), HashSet::new());
    for number in numbers {
        ensure!(
            !number.phone_number_id.is_empty()
                && number.phone_number_id.bytes().all(|b| b.is_ascii_digit()),
            "WhatsApp phone_number_id {:?} must be digits",
            number.phone_number_id
        );
        ensure!(
            tokens.insert(&number.access_token),
            "two WhatsApp numbers share an access token"
        );
        ensure!(
            ids.insert(&number.phone_number_id),
            "two WhatsApp numbers share phone_number_id {:?}",
            number.phone_number_id
        );
        ensure!(
            integrations.insert(&number.integration_id),
            "two WhatsApp numbers are configured for integration {:?}",
            number.integration_id
        );
    }
    Ok(())
}

/// `POST /{version}/{phone_number_id}/messages`.
pub(crate) async fn send(
    State(sim): State<Arc<Shared>>,
    Path((version, phone_number_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = GraphCall {
        sim: &sim,
        product: GraphProduct::WhatsApp,
        uri: &uri,
        headers: &headers,
        body: &body,
    };
    let platform = Platform::WhatsApp;
    let token = access_token(&uri, &headers);
    let Some(number) = token.and_then(|token| sim.whatsapp.number_for_token(&token)) else {
        let reason = "missing or unknown access token".into();
        return call.refuse(platform, None, reason, GraphError::invalid_token());
    };
    let integration_id = number.integration_id.as_str();
    if phone_number_id != number.phone_number_id {
        let reason = format!(
            "the token is for phone number id {}, not {phone_number_id:?}",
            number.phone_number_id
        );
        let error = GraphError {
            message: "Unsupported post request. Object does not exist, cannot be loaded due to \
                      missing permissions, or does not support this operation"
                .into(),
            ..GraphError::invalid_parameter(GraphProduct::WhatsApp, &reason)
        };
        return call.refuse(platform, Some(integration_id), reason, error);
    }
    if !is_graph_version(&version) {
        let error = GraphError::unknown_version(&version);
        let reason = error.details.clone().unwrap_or_default();
        return call.refuse(platform, Some(integration_id), reason, error);
    }
    let (request, checked) = match check_request(&headers, &body) {
        Ok(checked) => checked,
        Err(reason) => {
            let error = GraphError::invalid_parameter(GraphProduct::WhatsApp, &reason);
            return call.refuse(platform, Some(integration_id), reason, error);
        }
    };

    let (to, kind, text) = match checked {
        Call::MarkRead { message_id } => {
            if sim.verbose {
                println!("[sim] WhatsApp {integration_id}: business read {message_id}");
            }
            lock(&sim.whatsapp.read_marks).push(WhatsAppReadMark {
                integration_id: integration_id.to_owned(),
                message_id,
            });
            return Json(json!({ "success": true })).into_response();
        }
        Call::Message { to, kind, text } => (to, kind, text),
    };
    let received_at = SystemTime::now();
    let fault = sim.whatsapp.faults.next().or_else(|| {
        (kind != "template" && !sim.whatsapp.window_open(&number.phone_number_id, &to))
            .then_some(WhatsAppFault::WindowClosed)
    });
    if let Some(fault) = fault {
        return call.fail(platform, integration_id, (to, text), &fault);
    }

    let wamid = format!("wamid.SIM{}", sim.ids.next_id());
    let answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": digits(&to) }],
        "messages": [{ "id": wamid }],
    });
    sim.records.deliver(
        Delivered {
            platform,
            integration_id: integration_id.to_owned(),
            recipient_id: to,
            platform_message_id: wamid,
            text,
            body: request,
            headers,
            received_at,
        },
        200,
    );
    Json(answer).into_response()
}

impl Shared {
    /// Posts `message` as `integration_id`'s number receives it, signed with the app secret, and
    /// notes when the customer wrote (the message's own timestamp) for the 24-hour window.
    pub(crate) async fn send_whatsapp(
        &self,
        integration_id: &str,
        message: &WaInbound,
    ) -> anyhow::Result<(u16, String)> {
        let number = self.whatsapp.number_for_integration(integration_id)?;
        let written = UNIX_EPOCH + Duration::from_secs(message.timestamp_secs);
        self.whatsapp
            .note_inbound(&number.phone_number_id, &message.wa_id, written);
        let body = whatsapp_message(&number.phone_number_id, message);
        let shown = match &message.content {
            WaContent::Text(text) => text.clone(),
            WaContent::ButtonReply { title, .. } | WaContent::ListReply { title, .. } => {
                format!("[tapped] {title}")
            }
        };
        let answer = self
            .post_meta_webhook(&number.integration_id, &number.app_secret, body)
            .await;
        self.log_customer(
            &format!("+{}", message.wa_id),
            integration_id,
            &shown,
            &answer,
        );
        answer
    }

    /// Posts a status of one of the business's messages, as WhatsApp reports them.
    pub(crate) async fn send_whatsapp_status(
        &self,
        integration_id: &str,
        status: &WaStatus,
    ) -> anyhow::Result<(u16, String)> {
        let number = self.whatsapp.number_for_integration(integration_id)?;
        let body = whatsapp_status(&number.phone_number_id, status);
        self.post_meta_webhook(&number.integration_id, &number.app_secret, body)
            .await
    }
}

impl PlatformSim {
    /// The next `n` WhatsApp message sends (after the usual checks pass) are answered with
    /// `fault`: recorded as attempts, not delivered. Mark-read calls are not affected.
    ///
    /// # Panics
    /// If a [`GraphFault::Status`] or [`GraphFault::Graph`] status is not 4xx or 5xx.
    pub fn whatsapp_fail_next(&self, n: usize, fault: WhatsAppFault) {
        self.shared.whatsapp.faults.queue(n, fault);
    }

    /// A customer's message: posts `message` to `{host}/webhooks/{integration_id}` signed with the
    /// number's app secret (`X-Hub-Signature-256`, hex), and opens (or, with an old
    /// `timestamp_secs`, ages) the customer's 24-hour window. Returns the host's status and body.
    pub async fn send_whatsapp(
        &self,
        integration_id: &str,
        message: &WaInbound,
    ) -> anyhow::Result<(u16, String)> {
        self.shared.send_whatsapp(integration_id, message).await
    }

    /// A text from `from_wa_id` (phone digits) named `name`, written now with a fresh `wamid`.
    pub async fn send_whatsapp_text(
        &self,
        integration_id: &str,
        from_wa_id: &str,
        name: &str,
        text: &str,
    ) -> anyhow::Result<(u16, String)> {
        let message = self.fresh_inbound(from_wa_id, name, WaContent::Text(text.into()), None);
        self.send_whatsapp(integration_id, &message).await
    }

    /// The customer taps the reply button `reply_id` (titled `title`) of the business message
    /// `context_id`.
    pub async fn send_whatsapp_button_reply(
        &self,
        integration_id: &str,
        from_wa_id: &str,
        name: &str,
        reply_id: &str,
        title: &str,
        context_id: Option<&str>,
    ) -> anyhow::Result<(u16, String)> {
        let content = WaContent::ButtonReply {
            id: reply_id.into(),
            title: title.into(),
        };
        let message = self.fresh_inbound(from_wa_id, name, content, context_id);
        self.send_whatsapp(integration_id, &message).await
    }

    /// A status webhook for one of the business's messages (e.g. `delivered`, or `failed` with
    /// `errors`).
    pub async fn send_whatsapp_status(
        &self,
        integration_id: &str,
        status: &WaStatus,
    ) -> anyhow::Result<(u16, String)> {
        self.shared
            .send_whatsapp_status(integration_id, status)
            .await
    }

    /// Meta's webhook verification (`GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`)
    /// with the number's verify token. Returns the host's status and body (the challenge, if it
    /// agrees).
    pub async fn verify_whatsapp_webhook(
        &self,
        integration_id: &str,
        challenge: &str,
    ) -> anyhow::Result<(u16, String)> {
        let number = self
            .shared
            .whatsapp
            .number_for_integration(integration_id)?;
        self.shared
            .verify_meta_webhook(integration_id, &number.verify_token, challenge)
            .await
    }

    /// Sets when `wa_id` last wrote to `integration_id`'s number, for tests that post webhooks
    /// without the simulator or need a window that closed (`now - 25 h`).
    pub fn whatsapp_set_last_inbound(
        &self,
        integration_id: &str,
        wa_id: &str,
        at: SystemTime,
    ) -> anyhow::Result<()> {
        let number = self
            .shared
            .whatsapp
            .number_for_integration(integration_id)?;
        self.shared
            .whatsapp
            .note_inbound(&number.phone_number_id, wa_id, at);
        Ok(())
    }

    /// The mark-read calls received, in arrival order.
    pub fn whatsapp_read_marks(&self) -> Vec<WhatsAppReadMark> {
        lock(&self.shared.whatsapp.read_marks).clone()
    }

    fn fresh_inbound(
        &self,
        wa_id: &str,
        name: &str,
        content: WaContent,
        context_id: Option<&str>,
    ) -> WaInbound {
        fresh_inbound(&self.shared, wa_id, name, content, context_id)
    }
}

fn fresh_inbound(
    sim: &Shared,
    wa_id: &str,
    name: &str,
    content: WaContent,
    context_id: Option<&str>,
) -> WaInbound {
    WaInbound {
        wa_id: wa_id.into(),
        name: name.into(),
        message_id: format!("wamid.SIMIN{}", sim.ids.next_id()),
        timestamp_secs: unix_millis(SystemTime::now()) / 1000,
        content,
        context_id: context_id.map(str::to_owned),
    }
}

/// `POST /sim/whatsapp/message` body: a text, or a tapped reply button.
#[derive(Deserialize)]
pub(crate) struct MessageRequest {
    integration: String,
    /// The customer's phone digits.
    from: String,
    /// The profile name; the number when absent.
    name: Option<String>,
    text: Option<String>,
    reply_id: Option<String>,
    reply_title: Option<String>,
    /// The business message a reply answers.
    context: Option<String>,
}

/// `POST /sim/whatsapp/message`: a customer writes (or taps a button) now, with a fresh `wamid`.
pub(crate) async fn post_message(
    State(sim): State<Arc<Shared>>,
    Json(request): Json<MessageRequest>,
) -> Response {
    if sim
        .whatsapp
        .number_for_integration(&request.integration)
        .is_err()
    {
        return unknown_integration("WhatsApp number", &request.integration);
    }
    let content = match (request.text, request.reply_id) {
        (Some(text), None) => WaContent::Text(text),
        (None, Some(id)) => WaContent::ButtonReply {
            title: request.reply_title.unwrap_or_else(|| id.clone()),
            id,
        },
        _ => {
            let error = "give either `text` or `reply_id` (with `reply_title`)";
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
        }
    };
    let name = request.name.unwrap_or_else(|| request.from.clone());
    let message = fresh_inbound(
        &sim,
        &request.from,
        &name,
        content,
        request.context.as_deref(),
    );
    match sim.send_whatsapp(&request.integration, &message).await {
        Ok((host_status, host_body)) => Json(json!({
            "host_status": host_status,
            "host_body": host_body,
            "message_id": message.message_id,
        }))
        .into_response(),
        Err(e) => host_unreachable(&e),
    }
}
