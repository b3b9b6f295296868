//! The WhatsApp Cloud API (reference §3): the send endpoint the host replies through, and the
//! customers' side that posts signed webhooks to the host.
//!
//! The send endpoint makes the checks the real one makes and a host can get wrong: the bearer
//! token of the business number named in the path, a Graph API version in the path, a JSON body
//! with `messaging_product: "whatsapp"`, a recipient and a well-formed message of a known type
//! (text of 1-4,096 characters, a template with a name and language, interactive buttons or lists
//! within their limits, media by `id` or `link`). What fails them is refused with Graph's error
//! envelope (code 190 or 100). What passes is answered with the next scripted
//! [`WhatsAppFault`], or held to the **24-hour customer-service window** (§3.5): free-form
//! messages to a customer whose last message to that number is older than 24 hours (or who never
//! wrote) fail with code 131047, as Meta answers; templates always pass. The simulator knows when
//! a customer last wrote because it posts the customers' messages itself
//! ([`PlatformSim::send_whatsapp_text`]); [`PlatformSim::whatsapp_set_last_inbound`] sets it for a
//! test that posts webhooks another way, or ages it. Mark-read calls (`status: "read"`) are kept
//! apart ([`PlatformSim::whatsapp_read_marks`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail, ensure};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::customer::{host_unreachable, unknown_integration};
use super::records::{Attempt, Delivered, Platform, Refused};
use super::{PlatformSim, Shared};
use crate::fixtures::unix_millis;
use crate::fixtures::whatsapp::{
    WaContent, WaInbound, WaStatus, whatsapp_message, whatsapp_status,
};
use crate::signing;

/// The send route, in axum's syntax: `{api_base}/{api_version}/{phone_number_id}/messages` with
/// the simulator's base URL as `api_base`.
///
/// Messenger and Instagram send through the same Graph path shape (`/{version}/{page_id}/messages`),
/// so a simulator for them must dispatch from this one route rather than register its own.
pub(crate) const SEND_ROUTE: &str = "/{version}/{phone_number_id}/messages";
/// `POST` `{"integration","from"[,"name"],"text"}` or `{…,"reply_id","reply_title"[,"context"]}`.
pub(crate) const CUSTOMER_ROUTE: &str = "/sim/whatsapp/message";

/// `text.body` limit (reference §3.5).
const MAX_TEXT_CHARS: usize = 4096;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE_CHARS: usize = 20;
const MAX_LIST_ROWS: usize = 10;
const MAX_ROW_TITLE_CHARS: usize = 24;
const MAX_CAPTION_CHARS: usize = 1024;
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
/// [`PlatformSim::whatsapp_fail_next`]; each comes with Graph's error envelope and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhatsAppFault {
    /// 429, code 130429: the number's throughput limit.
    RateLimited,
    /// 429, code 131056: too many messages to the same customer.
    PairRateLimited,
    /// 400, code 131047: the 24-hour window is closed (whatever the simulator's own record says).
    WindowClosed,
    /// 400, code 131026: the recipient cannot receive the message.
    Undeliverable,
    /// 401, code 190: the access token expired.
    TokenExpired,
    /// Any 4xx or 5xx: 5xx with code 131000 ("Something went wrong"), 4xx with code 100.
    Status(u16),
}

impl WhatsAppFault {
    fn status_and_code(self) -> (u16, i64, &'static str) {
        match self {
            Self::RateLimited => (429, 130_429, "(#130429) Rate limit hit"),
            Self::PairRateLimited => (
                429,
                131_056,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            ),
            Self::WindowClosed => (400, 131_047, "Re-engagement message"),
            Self::Undeliverable => (400, 131_026, "Message undeliverable"),
            Self::TokenExpired => (
                401,
                190,
                "Error validating access token: Session has expired",
            ),
            Self::Status(status) if status >= 500 => (status, 131_000, "Something went wrong"),
            Self::Status(status) => (status, 100, "(#100) Invalid parameter"),
        }
    }
}

/// A mark-read call: the host told WhatsApp the business read the customer's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WhatsAppReadMark {
    pub integration_id: String,
    pub message_id: String,
}

/// The WhatsApp side of the simulator.
pub(crate) struct WhatsAppApi {
    numbers: Vec<WhatsAppNumber>,
    faults: Mutex<VecDeque<WhatsAppFault>>,
    /// When each customer last wrote to each number: `(phone_number_id, wa_id)` → time.
    last_inbound: Mutex<HashMap<(String, String), SystemTime>>,
    read_marks: Mutex<Vec<WhatsAppReadMark>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WhatsAppApi {
    pub(crate) fn new(numbers: Vec<WhatsAppNumber>) -> Self {
        Self {
            numbers,
            faults: Mutex::default(),
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

    fn number_for_token(&self, headers: &HeaderMap) -> Option<&WhatsAppNumber> {
        let token = headers
            .get(AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        self.numbers
            .iter()
            .find(|number| number.access_token == token)
    }

    fn queue_faults(&self, n: usize, fault: WhatsAppFault) {
        let (status, _, _) = fault.status_and_code();
        assert!(
            (400..=599).contains(&status),
            "a scripted WhatsApp fault needs a 4xx or 5xx status, not {status}"
        );
        lock(&self.faults).extend(std::iter::repeat_n(fault, n));
    }

    fn next_fault(&self) -> Option<WhatsAppFault> {
        lock(&self.faults).pop_front()
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

/// Graph's error envelope (reference §3.4).
fn graph_error(status: u16, code: i64, message: &str, details: Option<&str>) -> Response {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
    });
    if let Some(details) = details {
        error["error_data"] = json!({ "messaging_product": "whatsapp", "details": details });
    }
    error["fbtrace_id"] = json!("ASimulatorTraceId");
    let status = StatusCode::from_u16(status).expect("graph errors carry valid statuses");
    (status, Json(json!({ "error": error }))).into_response()
}

/// What a valid call asks for.
#[derive(Debug, PartialEq)]
enum Call {
    /// A message to `to` of type `kind`; `text` is what the customer reads (body, caption).
    Message {
        to: String,
        kind: String,
        text: Option<String>,
    },
    /// `{"status": "read", "message_id": …}`.
    MarkRead { message_id: String },
}

/// `POST /{version}/{phone_number_id}/messages`.
pub(crate) async fn send(
    State(sim): State<Arc<Shared>>,
    Path((version, phone_number_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |integration_id: Option<&str>, status: u16, reason: String| {
        sim.records.refuse(Refused {
            platform: Platform::WhatsApp,
            integration_id: integration_id.map(str::to_owned),
            path: uri.path().to_owned(),
            status,
            reason,
            headers: headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            received_at: SystemTime::now(),
        });
    };

    let Some(number) = sim.whatsapp.number_for_token(&headers) else {
        refuse(None, 401, "missing or unknown bearer token".into());
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        );
    };
    let integration_id = number.integration_id.as_str();
    if phone_number_id != number.phone_number_id {
        let reason = format!(
            "the token is for phone number id {}, not {phone_number_id:?}",
            number.phone_number_id
        );
        refuse(Some(integration_id), 400, reason.clone());
        return graph_error(
            400,
            100,
            "Unsupported post request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation",
            Some(&reason),
        );
    }
    if !is_version(&version) {
        let reason = format!("{version:?} is not a Graph API version like v23.0");
        refuse(Some(integration_id), 400, reason.clone());
        return graph_error(400, 2500, "Unknown path components", Some(&reason));
    }
    let (request, call) = match check_request(&headers, &body) {
        Ok(checked) => checked,
        Err(reason) => {
            refuse(Some(integration_id), 400, reason.clone());
            return graph_error(400, 100, "(#100) Invalid parameter", Some(&reason));
        }
    };

    let (to, kind, text) = match call {
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
    let fault = sim.whatsapp.next_fault().or_else(|| {
        (kind != "template" && !sim.whatsapp.window_open(&number.phone_number_id, &to))
            .then_some(WhatsAppFault::WindowClosed)
    });
    if let Some(fault) = fault {
        let (status, code, message) = fault.status_and_code();
        let details = (code == 131_047).then_some(
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        );
        sim.records.fail(Attempt {
            platform: Platform::WhatsApp,
            integration_id: integration_id.to_owned(),
            recipient_id: to,
            text,
            status,
            received_at,
        });
        return graph_error(status, code, message, details);
    }

    let wamid = format!("wamid.SIM{}", sim.ids.next_id());
    let answer = json!({
        "messaging_product": "whatsapp",
        "contacts": [{ "input": to, "wa_id": digits(&to) }],
        "messages": [{ "id": wamid }],
    });
    sim.records.deliver(
        Delivered {
            platform: Platform::WhatsApp,
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

/// `v` + major + `.` + minor, e.g. `v23.0`.
fn is_version(version: &str) -> bool {
    version.strip_prefix('v').is_some_and(|rest| {
        rest.split_once('.').is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// Checks a send body as the real endpoint would; returns it and what it asks for, or why it is
/// invalid.
fn check_request(headers: &HeaderMap, body: &[u8]) -> Result<(Value, Call), String> {
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
    if fields.get("messaging_product") != Some(&json!("whatsapp")) {
        return Err("messaging_product must be \"whatsapp\"".into());
    }
    if let Some(status) = fields.get("status") {
        if status != "read" {
            return Err(format!("status must be \"read\", not {status}"));
        }
        let message_id = string(fields, "message_id")?;
        if let Some(unknown) = fields.keys().find(|key| {
            !matches!(
                key.as_str(),
                "messaging_product" | "status" | "message_id" | "typing_indicator"
            )
        }) {
            return Err(format!("unknown field {unknown:?} in a mark-read call"));
        }
        return Ok((request.clone(), Call::MarkRead { message_id }));
    }

    let to = string(fields, "to")?;
    if digits(&to).is_empty() {
        return Err(format!("to {to:?} is not a phone number"));
    }
    if let Some(recipient_type) = fields.get("recipient_type") {
        if recipient_type != "individual" && recipient_type != "group" {
            return Err(format!(
                "recipient_type {recipient_type} is neither individual nor group"
            ));
        }
    }
    let kind = fields
        .get("type")
        .map(|kind| {
            kind.as_str()
                .map(str::to_owned)
                .ok_or("type must be a string")
        })
        .transpose()?
        .unwrap_or_else(|| "text".into());
    if let Some(unknown) = fields.keys().find(|key| {
        !matches!(
            key.as_str(),
            "messaging_product"
                | "recipient_type"
                | "to"
                | "type"
                | "context"
                | "biz_opaque_callback_data"
        ) && **key != kind
    }) {
        return Err(format!("unknown field {unknown:?} for a {kind} message"));
    }
    if let Some(context) = fields.get("context") {
        if !context
            .get("message_id")
            .is_some_and(|id| id.as_str().is_some_and(|id| !id.is_empty()))
        {
            return Err("context must be {\"message_id\": \"wamid…\"}".into());
        }
    }
    let object = fields
        .get(&kind)
        .and_then(Value::as_object)
        .ok_or_else(|| format!("a {kind} message needs a `{kind}` object"))?;
    let text = match kind.as_str() {
        "text" => {
            let text = string(object, "body")?;
            let chars = text.chars().count();
            if !(1..=MAX_TEXT_CHARS).contains(&chars) {
                return Err(format!(
                    "text.body must be 1 to {MAX_TEXT_CHARS} characters, not {chars}"
                ));
            }
            if object.get("preview_url").is_some_and(|p| !p.is_boolean()) {
                return Err("text.preview_url must be a boolean".into());
            }
            Some(text)
        }
        "template" => {
            check_template(object)?;
            None
        }
        "interactive" => Some(check_interactive(object)?),
        "image" | "document" | "audio" | "video" | "sticker" => check_media(&kind, object)?,
        other => return Err(format!("unsupported message type {other:?}")),
    };
    Ok((request.clone(), Call::Message { to, kind, text }))
}

fn string(object: &Map<String, Value>, key: &str) -> Result<String, String> {
    match object.get(key) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(format!("{key} must not be empty")),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
        None => Err(format!("{key} is required")),
    }
}

fn chars_within(text: &str, what: &str, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if (1..=max).contains(&chars) {
        Ok(())
    } else {
        Err(format!("{what} must be 1 to {max} characters, not {chars}"))
    }
}

/// A name of lowercase letters, digits and underscores, and a language code.
fn check_template(template: &Map<String, Value>) -> Result<(), String> {
    let name = string(template, "name")?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "template name {name:?} must be lowercase letters, digits and underscores"
        ));
    }
    let language = template
        .get("language")
        .and_then(Value::as_object)
        .ok_or("template.language must be {\"code\": …}")?;
    string(language, "code").map_err(|e| format!("template.language.{e}"))?;
    if let Some(components) = template.get("components") {
        let components = components
            .as_array()
            .ok_or("template.components must be an array")?;
        for component in components {
            let parameters = component.get("parameters").and_then(Value::as_array);
            if component.get("type").and_then(Value::as_str).is_none() {
                return Err("every template component needs a type".into());
            }
            for parameter in parameters.into_iter().flatten() {
                if parameter.get("type").and_then(Value::as_str).is_none() {
                    return Err("every template parameter needs a type".into());
                }
            }
        }
    }
    Ok(())
}

/// Reply buttons (1-3, titles ≤ 20) or a list (1-10 rows, titles ≤ 24); returns the body text.
fn check_interactive(interactive: &Map<String, Value>) -> Result<String, String> {
    let body = interactive
        .get("body")
        .and_then(Value::as_object)
        .ok_or("interactive.body is required")?;
    let text = string(body, "text").map_err(|e| format!("interactive.body.{e}"))?;
    chars_within(&text, "interactive.body.text", MAX_CAPTION_CHARS)?;
    let action = interactive
        .get("action")
        .and_then(Value::as_object)
        .ok_or("interactive.action is required")?;
    let mut ids = HashSet::new();
    match interactive.get("type").and_then(Value::as_str) {
        Some("button") => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .ok_or("interactive.action.buttons is required")?;
            if !(1..=MAX_BUTTONS).contains(&buttons.len()) {
                return Err(format!(
                    "interactive buttons must be 1 to {MAX_BUTTONS}, not {}",
                    buttons.len()
                ));
            }
            for button in buttons {
                if button.get("type") != Some(&json!("reply")) {
                    return Err("every button must be of type \"reply\"".into());
                }
                let reply = button
                    .get("reply")
                    .and_then(Value::as_object)
                    .ok_or("every button needs a reply {id, title}")?;
                let id = string(reply, "id").map_err(|e| format!("button reply.{e}"))?;
                chars_within(&id, "a button id", 256)?;
                let title = string(reply, "title").map_err(|e| format!("button reply.{e}"))?;
                chars_within(&title, "a button title", MAX_BUTTON_TITLE_CHARS)?;
                if !ids.insert(id.clone()) {
                    return Err(format!("button id {id:?} is used twice"));
                }
            }
        }
        Some("list") => {
            let button = string(action, "button").map_err(|e| format!("interactive.action.{e}"))?;
            chars_within(&button, "the list button", MAX_BUTTON_TITLE_CHARS)?;
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .filter(|sections| !sections.is_empty())
                .ok_or("interactive.action.sections must be a non-empty array")?;
            let mut rows = 0;
            for section in sections {
                let section_rows = section
                    .get("rows")
                    .and_then(Value::as_array)
                    .ok_or("every list section needs rows")?;
                for row in section_rows {
                    let row = row.as_object().ok_or("a list row must be an object")?;
                    let id = string(row, "id").map_err(|e| format!("list row {e}"))?;
                    chars_within(&id, "a list row id", 200)?;
                    let title = string(row, "title").map_err(|e| format!("list row {e}"))?;
                    chars_within(&title, "a list row title", MAX_ROW_TITLE_CHARS)?;
                    if !ids.insert(id.clone()) {
                        return Err(format!("list row id {id:?} is used twice"));
                    }
                    rows += 1;
                }
            }
            if !(1..=MAX_LIST_ROWS).contains(&rows) {
                return Err(format!(
                    "a list must have 1 to {MAX_LIST_ROWS} rows, not {rows}"
                ));
            }
        }
        other => {
            return Err(format!(
                "interactive.type must be \"button\" or \"list\" (as the simulator knows them), not {other:?}"
            ));
        }
    }
    Ok(text)
}

/// Exactly one of `id` and `link`; captions (≤ 1,024) only where WhatsApp shows them.
fn check_media(kind: &str, media: &Map<String, Value>) -> Result<Option<String>, String> {
    match (media.get("id"), media.get("link")) {
        (Some(Value::String(id)), None) if !id.is_empty() => {}
        (None, Some(Value::String(link))) if link.starts_with("http") => {}
        _ => {
            return Err(format!(
                "a {kind} needs exactly one of a media id or an http(s) link"
            ));
        }
    }
    let caption = match media.get("caption") {
        None => None,
        Some(_) if matches!(kind, "audio" | "sticker") => {
            return Err(format!("a {kind} message has no caption"));
        }
        Some(Value::String(caption)) => {
            chars_within(caption, "a caption", MAX_CAPTION_CHARS)?;
            Some(caption.clone())
        }
        Some(_) => return Err("a caption must be a string".into()),
    };
    Ok(caption)
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
        let answer = self.post_meta_webhook(number, body).await;
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
        self.post_meta_webhook(number, body).await
    }

    async fn post_meta_webhook(
        &self,
        number: &WhatsAppNumber,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let signature = signing::hub_signature_hex(&number.app_secret, &body);
        self.host
            .post_webhook(
                &number.integration_id,
                body,
                ("x-hub-signature-256", signature),
            )
            .await
    }

    /// Meta's verification request: `GET /webhooks/{integration}?hub.mode=subscribe&…`.
    async fn verify_whatsapp_webhook(
        &self,
        integration_id: &str,
        challenge: &str,
    ) -> anyhow::Result<(u16, String)> {
        let number = self.whatsapp.number_for_integration(integration_id)?;
        let base_url = lock_read(&self.host.base_url);
        let Some(base_url) = base_url else {
            bail!("the simulator does not know where the host is: set SimConfig::host_base_url");
        };
        let url = format!(
            "{base_url}/webhooks/{integration_id}?hub.mode=subscribe&hub.verify_token={}&hub.challenge={}",
            query_escape(&number.verify_token),
            query_escape(challenge)
        );
        let uri: Uri = url
            .parse()
            .with_context(|| format!("{url:?} is not a URL"))?;
        let request = Request::get(uri)
            .body(Full::new(Bytes::new()))
            .context("building the request")?;
        let exchange = async {
            let response = self.host.client.request(request).await.context("GET")?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, String::from_utf8_lossy(&body).into_owned()))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .context("the host did not answer the verification request")?
    }
}

fn lock_read(base_url: &std::sync::RwLock<Option<String>>) -> Option<String> {
    base_url
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

/// Percent-encodes everything but unreserved characters.
fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl PlatformSim {
    /// The next `n` WhatsApp message sends (after the usual checks pass) are answered with
    /// `fault`: recorded as attempts, not delivered. Mark-read calls are not affected.
    ///
    /// # Panics
    /// If a [`WhatsAppFault::Status`] is not 4xx or 5xx.
    pub fn whatsapp_fail_next(&self, n: usize, fault: WhatsAppFault) {
        self.shared.whatsapp.queue_faults(n, fault);
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
        self.shared
            .verify_whatsapp_webhook(integration_id, challenge)
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex as StdMutex;

    use axum::Router;
    use axum::extract::{Query, RawQuery};
    use axum::routing::post;
    use tokio::net::TcpListener;

    use super::super::customer::{http_client, http_post};
    use super::super::{SimConfig, check_config};
    use super::*;

    const TOKEN: &str = "fixture-wa-token";
    const SECRET: &str = "fixture-app-secret";
    const NUMBER_ID: &str = "500000000000002";
    const CUSTOMER: &str = "4915112345678";

    fn number() -> WhatsAppNumber {
        WhatsAppNumber {
            phone_number_id: NUMBER_ID.into(),
            access_token: TOKEN.into(),
            app_secret: SECRET.into(),
            verify_token: "fixture verify&token".into(),
            integration_id: "wa-demo".into(),
        }
    }

    fn config() -> SimConfig {
        SimConfig {
            whatsapp: vec![number()],
            ..SimConfig::default()
        }
    }

    async fn wa_send(sim: &PlatformSim, path: &str, token: &str, body: Value) -> (u16, Value) {
        let headers = [
            (AUTHORIZATION, format!("Bearer {token}")),
            (CONTENT_TYPE, "application/json".to_owned()),
        ];
        let url = format!("{}{path}", sim.base_url());
        let (status, _, body) = http_post(
            &http_client(),
            &url,
            &headers,
            body.to_string().into_bytes(),
        )
        .await
        .unwrap();
        (status.as_u16(), serde_json::from_slice(&body).unwrap())
    }

    const PATH: &str = "/v23.0/500000000000002/messages";

    fn text(body: &str) -> Value {
        json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
                "type": "text", "text": { "body": body, "preview_url": false } })
    }

    #[tokio::test]
    async fn delivers_inside_the_window_and_enforces_it_outside() {
        let sim = PlatformSim::start(config()).await.unwrap();

        // The customer never wrote: free text is a re-engagement message.
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("Hallo Jonas")).await;
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["code"], 131_047);
        assert_eq!(answer["error"]["type"], "OAuthException");
        // Templates go out regardless.
        let template = json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": CUSTOMER,
            "type": "template", "template": { "name": "case_followup_v2", "language": { "code": "de" },
            "components": [{ "type": "body", "parameters": [{ "type": "text", "text": "Jonas" }] }] } });
        let (status, answer) = wa_send(&sim, PATH, TOKEN, template).await;
        assert_eq!(status, 200, "{answer}");
        let template_wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();

        // The customer wrote 23 hours ago: the window is open.
        let recent = SystemTime::now() - Duration::from_secs(23 * 3600);
        sim.whatsapp_set_last_inbound("wa-demo", &format!("+{CUSTOMER}"), recent)
            .unwrap();
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("Ihr Paket ist unterwegs.")).await;
        assert_eq!(status, 200);
        assert_eq!(answer["messaging_product"], "whatsapp");
        assert_eq!(
            answer["contacts"],
            json!([{ "input": CUSTOMER, "wa_id": CUSTOMER }])
        );
        let wamid = answer["messages"][0]["id"].as_str().unwrap().to_owned();
        assert!(wamid.starts_with("wamid.") && wamid != template_wamid);

        // 25 hours ago: closed again.
        let old = SystemTime::now() - Duration::from_secs(25 * 3600);
        sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, old)
            .unwrap();
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("noch da?")).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (400, json!(131_047))
        );

        let delivered = sim.delivered();
        assert_eq!(delivered.len(), 2);
        assert_eq!(
            (
                delivered[1].platform,
                delivered[1].integration_id.as_str(),
                delivered[1].recipient_id.as_str()
            ),
            (Platform::WhatsApp, "wa-demo", CUSTOMER)
        );
        assert_eq!(
            delivered[1].text.as_deref(),
            Some("Ihr Paket ist unterwegs.")
        );
        assert_eq!(delivered[1].platform_message_id, wamid);
        assert_eq!(delivered[0].body["template"]["name"], "case_followup_v2");
        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [400, 200, 200, 400]
        );
        assert!(sim.refused().is_empty());
        let listed = serde_json::to_value(&delivered[0]).unwrap();
        assert_eq!(listed["platform"], "whatsapp");
    }

    #[tokio::test]
    async fn refuses_bad_tokens_paths_and_bodies() {
        let sim = PlatformSim::start(config()).await.unwrap();
        sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, SystemTime::now())
            .unwrap();

        let (status, answer) = wa_send(&sim, PATH, "stolen", text("hi")).await;
        assert_eq!((status, answer["error"]["code"].clone()), (401, json!(190)));
        let (status, answer) =
            wa_send(&sim, "/v23.0/500000000000099/messages", TOKEN, text("hi")).await;
        assert_eq!((status, answer["error"]["code"].clone()), (400, json!(100)));
        let (status, _) =
            wa_send(&sim, "/latest/500000000000002/messages", TOKEN, text("hi")).await;
        assert_eq!(status, 400);
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text(&"x".repeat(4097))).await;
        assert_eq!(status, 400);
        assert!(
            answer["error"]["error_data"]["details"]
                .as_str()
                .unwrap()
                .contains("4096"),
            "{answer}"
        );

        let refused = sim.refused();
        assert_eq!(
            refused
                .iter()
                .map(|r| (r.platform, r.integration_id.as_deref(), r.status))
                .collect::<Vec<_>>(),
            [
                (Platform::WhatsApp, None, 401),
                (Platform::WhatsApp, Some("wa-demo"), 400),
                (Platform::WhatsApp, Some("wa-demo"), 400),
                (Platform::WhatsApp, Some("wa-demo"), 400),
            ]
        );
        let (status, _) = wa_send(&sim, PATH, TOKEN, text(&"é".repeat(4096))).await;
        assert_eq!(status, 200);
    }

    fn check(body: Value) -> Result<Call, String> {
        let headers = HeaderMap::from_iter([(CONTENT_TYPE, "application/json".parse().unwrap())]);
        check_request(&headers, body.to_string().as_bytes()).map(|(_, call)| call)
    }

    fn message(kind: &str, object: Value) -> Value {
        let mut body = json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "type": kind });
        body[kind] = object;
        body
    }

    #[test]
    fn accepts_what_the_adapter_sends() {
        let buttons = message(
            "interactive",
            json!({ "type": "button", "body": { "text": "Was möchten Sie tun?" },
            "action": { "buttons": [ { "type": "reply", "reply": { "id": "btn_talk_to_agent", "title": "Talk to agent" } },
                                     { "type": "reply", "reply": { "id": "btn_track", "title": "Track parcel" } } ] } }),
        );
        assert_eq!(
            check(buttons),
            Ok(Call::Message {
                to: CUSTOMER.into(),
                kind: "interactive".into(),
                text: Some("Was möchten Sie tun?".into())
            })
        );
        let list = message(
            "interactive",
            json!({ "type": "list", "body": { "text": "Pick" },
            "action": { "button": "Options", "sections": [ { "rows": [ { "id": "a", "title": "A" }, { "id": "b", "title": "B" } ] } ] } }),
        );
        assert!(check(list).is_ok());
        let image = message(
            "image",
            json!({ "id": "900000000000021", "caption": "the label" }),
        );
        assert_eq!(
            check(image),
            Ok(Call::Message {
                to: CUSTOMER.into(),
                kind: "image".into(),
                text: Some("the label".into())
            })
        );
        assert!(
            check(message(
                "document",
                json!({ "link": "https://files.example.invalid/a.pdf", "filename": "a.pdf" })
            ))
            .is_ok()
        );
        let mut reply = text_body("hi");
        reply["context"] = json!({ "message_id": "wamid.FIXTURE-IN-0001" });
        assert!(check(reply).is_ok());
        assert_eq!(
            check(
                json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.FIXTURE-IN-0001" })
            ),
            Ok(Call::MarkRead {
                message_id: "wamid.FIXTURE-IN-0001".into()
            })
        );
    }

    fn text_body(body: &str) -> Value {
        message("text", json!({ "body": body }))
    }

    #[test]
    fn rejects_what_the_real_api_rejects() {
        let four_buttons: Vec<Value> = (0..4)
            .map(|i| json!({ "type": "reply", "reply": { "id": format!("b{i}"), "title": "T" } }))
            .collect();
        let rows: Vec<Value> = (0..11)
            .map(|i| json!({ "id": format!("r{i}"), "title": "T" }))
            .collect();
        for body in [
            json!({ "to": CUSTOMER, "type": "text", "text": { "body": "hi" } }),
            json!({ "messaging_product": "whatsapp", "type": "text", "text": { "body": "hi" } }),
            text_body(""),
            message("text", json!({ "body": "hi", "preview_url": "no" })),
            message("text", json!("hi")),
            json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": { "body": "hi" }, "quick_replies": [] }),
            message(
                "template",
                json!({ "name": "Case Followup", "language": { "code": "de" } }),
            ),
            message("template", json!({ "name": "case_followup_v2" })),
            message(
                "interactive",
                json!({ "type": "button", "body": { "text": "x" }, "action": { "buttons": four_buttons } }),
            ),
            message(
                "interactive",
                json!({ "type": "button", "body": { "text": "x" },
                "action": { "buttons": [ { "type": "reply", "reply": { "id": "a", "title": "twenty-one characters" } } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "button", "action": { "buttons": [ { "type": "reply", "reply": { "id": "a", "title": "A" } } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "list", "body": { "text": "x" }, "action": { "button": "Options", "sections": [ { "rows": rows } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "list", "body": { "text": "x" }, "action": { "button": "Options", "sections": [ { "rows": [ { "id": "a", "title": "twenty-five characters..." } ] } ] } }),
            ),
            message("image", json!({ "caption": "no media" })),
            message(
                "image",
                json!({ "id": "1", "link": "https://a.invalid/x.png" }),
            ),
            message("audio", json!({ "id": "1", "caption": "no" })),
            message("location", json!({ "latitude": 1, "longitude": 2 })),
            json!({ "messaging_product": "whatsapp", "status": "read" }),
            json!({ "messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.X" }),
        ] {
            assert!(check(body.clone()).is_err(), "{body} should be rejected");
        }
        assert!(check_request(&HeaderMap::new(), text_body("hi").to_string().as_bytes()).is_err());
        assert!(
            is_version("v23.0") && !is_version("v23") && !is_version("23.0") && !is_version("v.1")
        );
    }

    #[tokio::test]
    async fn scripted_faults_come_first_and_mark_reads_are_kept_apart() {
        let sim = PlatformSim::start(config()).await.unwrap();
        sim.whatsapp_set_last_inbound("wa-demo", CUSTOMER, SystemTime::now())
            .unwrap();
        sim.whatsapp_fail_next(1, WhatsAppFault::RateLimited);
        sim.whatsapp_fail_next(1, WhatsAppFault::Status(503));
        sim.whatsapp_fail_next(1, WhatsAppFault::TokenExpired);

        let read = json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.FIXTURE-IN-0001" });
        assert_eq!(
            wa_send(&sim, PATH, TOKEN, read).await,
            (200, json!({ "success": true }))
        );
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (429, json!(130_429))
        );
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            (503, json!(131_000))
        );
        let (status, answer) = wa_send(&sim, PATH, TOKEN, text("one")).await;
        assert_eq!((status, answer["error"]["code"].clone()), (401, json!(190)));
        let (status, _) = wa_send(&sim, PATH, TOKEN, text("one")).await;
        assert_eq!(status, 200);

        assert_eq!(
            sim.attempts().iter().map(|a| a.status).collect::<Vec<_>>(),
            [429, 503, 401, 200]
        );
        assert_eq!(
            sim.whatsapp_read_marks(),
            [WhatsAppReadMark {
                integration_id: "wa-demo".into(),
                message_id: "wamid.FIXTURE-IN-0001".into()
            }]
        );
    }

    type Inbox = Arc<StdMutex<Vec<(String, Value)>>>;

    /// A stand-in host: checks the hex signature and keeps the body; answers the verification GET.
    async fn stand_in_host(
        State(inbox): State<Inbox>,
        Path(integration): Path<String>,
        headers: HeaderMap,
        body: Bytes,
    ) -> (StatusCode, &'static str) {
        let expected = signing::hub_signature_hex(SECRET, &body);
        if headers
            .get("x-hub-signature-256")
            .is_none_or(|value| value != expected.as_str())
        {
            return (StatusCode::UNAUTHORIZED, "bad signature");
        }
        inbox
            .lock()
            .unwrap()
            .push((integration, serde_json::from_slice(&body).unwrap()));
        (StatusCode::OK, "")
    }

    async fn stand_in_verify(
        Query(query): Query<HashMap<String, String>>,
        RawQuery(raw): RawQuery,
    ) -> (StatusCode, String) {
        assert!(
            raw.unwrap()
                .contains("hub.verify_token=fixture%20verify%26token")
        );
        if query.get("hub.mode").map(String::as_str) == Some("subscribe")
            && query.get("hub.verify_token").map(String::as_str) == Some("fixture verify&token")
        {
            (StatusCode::OK, query["hub.challenge"].clone())
        } else {
            (StatusCode::FORBIDDEN, String::new())
        }
    }

    #[tokio::test]
    async fn customers_post_signed_webhooks_and_open_their_window() {
        let inbox = Inbox::default();
        let host = Router::new()
            .route(
                "/webhooks/{integration}",
                post(stand_in_host).get(stand_in_verify),
            )
            .with_state(inbox.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host_url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, host).into_future());
        let sim = PlatformSim::start(SimConfig {
            host_base_url: Some(host_url),
            ..config()
        })
        .await
        .unwrap();

        assert_eq!(
            sim.verify_whatsapp_webhook("wa-demo", "1158201444")
                .await
                .unwrap(),
            (200, "1158201444".into())
        );
        assert_eq!(
            sim.send_whatsapp_text("wa-demo", CUSTOMER, "Jonas Beispiel", "Hallo?")
                .await
                .unwrap()
                .0,
            200
        );
        // The window is now open for free text.
        assert_eq!(wa_send(&sim, PATH, TOKEN, text("Ja?")).await.0, 200);
        sim.send_whatsapp_button_reply(
            "wa-demo",
            CUSTOMER,
            "Jonas Beispiel",
            "btn_track",
            "Track parcel",
            Some("wamid.SIM1"),
        )
        .await
        .unwrap();
        let failed = WaStatus {
            status: "failed".into(),
            errors: vec![(131_047, "Re-engagement message".into())],
            ..WaStatus::default()
        };
        sim.send_whatsapp_status("wa-demo", &failed).await.unwrap();
        assert!(
            sim.send_whatsapp_text("nope", CUSTOMER, "J", "hi")
                .await
                .is_err()
        );

        let client = http_client();
        let json_type = [(CONTENT_TYPE, "application/json".to_owned())];
        let url = format!("{}{CUSTOMER_ROUTE}", sim.base_url());
        let curl = json!({ "integration": "wa-demo", "from": "4915199999999", "text": "per curl" });
        let (status, _, body) = http_post(&client, &url, &json_type, curl.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::OK);
        let answer: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(answer["host_status"], 200);
        let unknown = json!({ "integration": "nope", "from": "1", "text": "hi" });
        let (status, _, _) = http_post(&client, &url, &json_type, unknown.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::NOT_FOUND);
        let neither = json!({ "integration": "wa-demo", "from": "1" });
        let (status, _, _) = http_post(&client, &url, &json_type, neither.to_string().into_bytes())
            .await
            .unwrap();
        assert_eq!(status, StatusCode::BAD_REQUEST);

        let received = inbox.lock().unwrap().clone();
        assert_eq!(received.len(), 4);
        assert!(
            received
                .iter()
                .all(|(integration, _)| integration == "wa-demo")
        );
        let value = |i: usize| received[i].1["entry"][0]["changes"][0]["value"].clone();
        assert_eq!(value(0)["metadata"]["phone_number_id"], NUMBER_ID);
        assert_eq!(value(0)["contacts"][0]["profile"]["name"], "Jonas Beispiel");
        assert_eq!(value(0)["messages"][0]["text"]["body"], "Hallo?");
        assert!(
            value(0)["messages"][0]["id"]
                .as_str()
                .unwrap()
                .starts_with("wamid.")
        );
        assert_eq!(
            value(1)["messages"][0]["interactive"]["button_reply"]["id"],
            "btn_track"
        );
        assert_eq!(value(1)["messages"][0]["context"]["id"], "wamid.SIM1");
        assert_eq!(value(2)["statuses"][0]["errors"][0]["code"], 131_047);
        assert_eq!(value(3)["messages"][0]["from"], "4915199999999");
        assert_eq!(value(3)["messages"][0]["id"], answer["message_id"]);
    }

    #[test]
    fn ambiguous_numbers_are_refused() {
        let mut twice = config();
        twice.whatsapp.push(WhatsAppNumber {
            integration_id: "wa-other".into(),
            phone_number_id: "500000000000003".into(),
            ..number()
        });
        assert!(
            check_config(&twice)
                .unwrap_err()
                .to_string()
                .contains("access token")
        );
        let mut bad = config();
        bad.whatsapp[0].phone_number_id = "../me".into();
        assert!(check_config(&bad).is_err());
        assert!(check_config(&config()).is_ok());
    }
}
