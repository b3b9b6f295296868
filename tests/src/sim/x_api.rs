//! X API v2's "send a DM" endpoint (reference §1.6) with its rate-limit headers (§1.7), and its
//! "create a post" endpoint (`POST /2/tweets`) for public replies to mentions.
//!
//! The checks are the ones the real endpoint makes and a host can get wrong: a user-context bearer
//! token, a `participant_id` of 1-19 digits, a JSON body holding only `text` and/or `attachments`
//! (`additionalProperties: false`) and 1-10,000 characters of text. Whatever fails them is refused
//! with X's error body; what passes is delivered, or answered with the next scripted [`Fault`] so
//! tests can drive the host's retries.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use super::records::{Attempt, Delivered, Platform, Refused};
use super::{Shared, XAccount};
use crate::fixtures::unix_millis;

/// The route, in axum's syntax; X's API base is the simulator's base URL.
pub(crate) const SEND_DM_ROUTE: &str = "/2/dm_conversations/with/{participant_id}/messages";

/// `POST /2/tweets`: a post; the host uses it for public replies to mentions.
pub(crate) const CREATE_POST_ROUTE: &str = "/2/tweets";

/// The most characters of a post's text.
const MAX_POST_CHARS: usize = 280;
/// The most media one post may carry.
const MAX_POST_MEDIA: usize = 4;

/// Calls per account per window reported in `x-rate-limit-*`. Generous on purpose: the simulator
/// reports limits but never enforces them, so no test trips one by accident; tests that need a 429
/// script it with [`Fault::RateLimited`].
const RATE_LIMIT: u64 = 15_000;
const RATE_WINDOW_SECS: u64 = 15 * 60;
const MAX_TEXT_CHARS: usize = 10_000;

/// A failure the X send API answers with instead of delivering, queued with
/// [`super::PlatformSim::x_fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `x-rate-limit-remaining: 0`, `x-rate-limit-reset: reset_epoch_secs` and X's code 88
    /// body; a host must wait until the reset before trying again.
    RateLimited { reset_epoch_secs: u64 },
    /// 429 with X's code 88 body and `Retry-After: <value>` (seconds or an HTTP date) instead of
    /// the `x-rate-limit-*` headers, as a proxy or a gateway in front of the API answers.
    RetryAfter(&'static str),
    /// Any 4xx or 5xx. 403 comes with code 349 ("You cannot send messages to this user."), a
    /// permanent failure; 429 is [`Fault::RateLimited`] with the current window's reset; every other
    /// status comes with a problem body.
    Status(u16),
    /// A slow platform: the answer comes after `delay_ms`, then the message is delivered as usual
    /// (a host killed meanwhile never learns it was).
    Slow { delay_ms: u64 },
    /// A platform that does not answer in time: the call is held for `hold_ms` (longer than the
    /// host's send timeout), then answered 504 without delivering.
    Hang { hold_ms: u64 },
    /// The connection breaks in the middle of the answer: a 500's headers, then the body fails,
    /// so the client sees a reset; nothing is delivered.
    Reset,
}

/// The X side of the simulator: accounts, the scripted faults and the rate-limit windows.
pub(crate) struct XApi {
    accounts: Vec<XAccount>,
    faults: Mutex<VecDeque<Fault>>,
    windows: Mutex<HashMap<String, RateWindow>>,
    /// Send calls received and not yet answered (the host is waiting on them).
    open: Arc<AtomicUsize>,
}

/// Counts one send call as open until it is answered or its client goes away.
struct OpenCall(Arc<AtomicUsize>);

impl OpenCall {
    fn new(open: &Arc<AtomicUsize>) -> OpenCall {
        open.fetch_add(1, Ordering::SeqCst);
        OpenCall(open.clone())
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One account's current fixed window, keyed by its access token.
struct RateWindow {
    start_epoch_secs: u64,
    used: u64,
}

/// The `x-rate-limit-*` values for one answer.
struct RateHeaders {
    limit: u64,
    remaining: u64,
    reset_epoch_secs: u64,
}

impl XApi {
    pub(crate) fn new(accounts: Vec<XAccount>) -> Self {
        Self {
            accounts,
            faults: Mutex::default(),
            windows: Mutex::default(),
            open: Arc::default(),
        }
    }

    /// Send calls (DMs and posts) received and not answered yet.
    pub(crate) fn open_calls(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Drops every fault scripted and not used yet.
    pub(crate) fn clear_faults(&self) {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    pub(crate) fn account_for_integration(&self, integration_id: &str) -> Option<&XAccount> {
        self.accounts
            .iter()
            .find(|account| account.integration_id == integration_id)
    }

    pub(crate) fn queue_faults(&self, n: usize, fault: Fault) {
        let status = match fault {
            Fault::RateLimited { .. } | Fault::RetryAfter(_) => 429,
            Fault::Status(status) => status,
            Fault::Slow { .. } | Fault::Hang { .. } | Fault::Reset => 500,
        };
        assert!(
            (400..=599).contains(&status),
            "a scripted X fault needs a 4xx or 5xx status, not {status}"
        );
        let mut faults = self
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        faults.extend(std::iter::repeat_n(fault, n));
    }

    fn next_fault(&self) -> Option<Fault> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop_front()
    }

    /// The next scripted fault that answers instead of delivering, after the delay a slow or
    /// hanging platform takes; `None` when the call is to be delivered.
    async fn next_answering_fault(&self) -> Option<Fault> {
        match self.next_fault()? {
            Fault::Slow { delay_ms } => {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                None
            }
            Fault::Hang { hold_ms } => {
                tokio::time::sleep(Duration::from_millis(hold_ms)).await;
                Some(Fault::Hang { hold_ms })
            }
            fault => Some(fault),
        }
    }

    fn account_for_token(&self, headers: &HeaderMap) -> Option<&XAccount> {
        let token = headers
            .get(AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        self.accounts
            .iter()
            .find(|account| account.access_token == token)
    }

    /// Counts one call against the account's window, as X counts every authenticated request.
    fn count_call(&self, account: &XAccount) -> RateHeaders {
        let now = unix_millis(SystemTime::now()) / 1000;
        let mut windows = self
            .windows
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let window = windows
            .entry(account.access_token.clone())
            .or_insert(RateWindow {
                start_epoch_secs: now,
                used: 0,
            });
        if now >= window.start_epoch_secs + RATE_WINDOW_SECS {
            *window = RateWindow {
                start_epoch_secs: now,
                used: 0,
            };
        }
        window.used += 1;
        RateHeaders {
            limit: RATE_LIMIT,
            remaining: RATE_LIMIT.saturating_sub(window.used),
            reset_epoch_secs: window.start_epoch_secs + RATE_WINDOW_SECS,
        }
    }
}

/// `POST /2/dm_conversations/with/{participant_id}/messages`.
pub(crate) async fn send_dm(
    State(sim): State<Arc<Shared>>,
    Path(participant_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |integration_id: Option<&str>, status: StatusCode, reason: String| {
        sim.records.refuse(Refused {
            platform: Platform::X,
            integration_id: integration_id.map(str::to_owned),
            path: uri.path().to_owned(),
            status: status.as_u16(),
            reason,
            headers: headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            received_at: SystemTime::now(),
        });
    };

    let Some(account) = sim.x.account_for_token(&headers) else {
        refuse(
            None,
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token".into(),
        );
        let problem = Problem {
            title: "Unauthorized",
            kind: "about:blank",
            status: 401,
            detail: "Unauthorized",
            errors: None,
        };
        return problem.into_response();
    };
    let _open = OpenCall::new(&sim.x.open);
    let rate = sim.x.count_call(account);
    let (request, text) = match check_request(&participant_id, &headers, &body) {
        Ok(checked) => checked,
        Err(reason) => {
            refuse(
                Some(&account.integration_id),
                StatusCode::BAD_REQUEST,
                reason.clone(),
            );
            let problem = Problem {
                title: "Invalid Request",
                kind: "https://api.x.com/2/problems/invalid-request",
                status: 400,
                detail: "One or more parameters to your request was invalid.",
                errors: Some([ProblemError { message: &reason }]),
            };
            return with_rate_headers(problem.into_response(), &rate);
        }
    };

    let received_at = SystemTime::now();
    if let Some(fault) = sim.x.next_answering_fault().await {
        let response = fault_response(fault, rate);
        sim.records.fail(Attempt {
            platform: Platform::X,
            integration_id: account.integration_id.clone(),
            recipient_id: participant_id,
            text,
            status: response.status().as_u16(),
            received_at,
        });
        return response;
    }

    let dm_event_id = sim.ids.next_id();
    let created = serde_json::json!({
        "data": {
            "dm_conversation_id": conversation_id(&account.account_id, &participant_id),
            "dm_event_id": dm_event_id,
        }
    });
    sim.records.deliver(
        Delivered {
            platform: Platform::X,
            integration_id: account.integration_id.clone(),
            recipient_id: participant_id,
            platform_message_id: dm_event_id,
            text,
            body: request,
            headers,
            received_at,
        },
        StatusCode::CREATED.as_u16(),
    );
    with_rate_headers(
        (StatusCode::CREATED, axum::Json(created)).into_response(),
        &rate,
    )
}

/// `POST /2/tweets`: checks the token and the body, then records the post as a delivery whose
/// `recipient_id` is the post it replies to (the reply target; a post that replies to nothing is
/// recorded with an empty one) and answers `201 {"data": {"id", "text", "edit_history_tweet_ids"}}`.
/// Scripted faults apply here as to DMs.
pub(crate) async fn create_post(
    State(sim): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let refuse = |integration_id: Option<&str>, status: StatusCode, reason: String| {
        sim.records.refuse(Refused {
            platform: Platform::X,
            integration_id: integration_id.map(str::to_owned),
            path: uri.path().to_owned(),
            status: status.as_u16(),
            reason,
            headers: headers.clone(),
            body: String::from_utf8_lossy(&body).into_owned(),
            received_at: SystemTime::now(),
        });
    };
    let Some(account) = sim.x.account_for_token(&headers) else {
        refuse(
            None,
            StatusCode::UNAUTHORIZED,
            "missing or unknown bearer token".into(),
        );
        let problem = Problem {
            title: "Unauthorized",
            kind: "about:blank",
            status: 401,
            detail: "Unauthorized",
            errors: None,
        };
        return problem.into_response();
    };
    let _open = OpenCall::new(&sim.x.open);
    let rate = sim.x.count_call(account);
    let (request, post) = match check_post(&headers, &body) {
        Ok(checked) => checked,
        Err(reason) => {
            refuse(
                Some(&account.integration_id),
                StatusCode::BAD_REQUEST,
                reason.clone(),
            );
            let problem = Problem {
                title: "Invalid Request",
                kind: "https://api.x.com/2/problems/invalid-request",
                status: 400,
                detail: "One or more parameters to your request was invalid.",
                errors: Some([ProblemError { message: &reason }]),
            };
            return with_rate_headers(problem.into_response(), &rate);
        }
    };
    let reply_to = post.in_reply_to.unwrap_or_default();
    let received_at = SystemTime::now();
    if let Some(fault) = sim.x.next_answering_fault().await {
        let response = fault_response(fault, rate);
        sim.records.fail(Attempt {
            platform: Platform::X,
            integration_id: account.integration_id.clone(),
            recipient_id: reply_to,
            text: post.text,
            status: response.status().as_u16(),
            received_at,
        });
        return response;
    }
    let post_id = sim.ids.next_id();
    let created = serde_json::json!({
        "data": {
            "edit_history_tweet_ids": [post_id],
            "id": post_id,
            "text": post.text.clone().unwrap_or_default(),
        }
    });
    sim.records.deliver(
        Delivered {
            platform: Platform::X,
            integration_id: account.integration_id.clone(),
            recipient_id: reply_to,
            platform_message_id: post_id,
            text: post.text,
            body: request,
            headers,
            received_at,
        },
        StatusCode::CREATED.as_u16(),
    );
    with_rate_headers(
        (StatusCode::CREATED, axum::Json(created)).into_response(),
        &rate,
    )
}

/// What a valid post request says.
#[derive(Debug, PartialEq, Eq)]
struct CheckedPost {
    text: Option<String>,
    /// `reply.in_reply_to_tweet_id`.
    in_reply_to: Option<String>,
}

/// Checks a `POST /2/tweets` body: text of 1-280 characters, `reply.in_reply_to_tweet_id` of
/// 1-19 digits, `media.media_ids` of 1-4 such ids, text or media present, no unknown field.
fn check_post(headers: &HeaderMap, body: &[u8]) -> Result<(Value, CheckedPost), String> {
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
    const KNOWN: [&str; 10] = [
        "text",
        "reply",
        "media",
        "quote_tweet_id",
        "poll",
        "reply_settings",
        "for_super_followers_only",
        "geo",
        "direct_message_deep_link",
        "nullcast",
    ];
    if let Some(unknown) = fields.keys().find(|key| !KNOWN.contains(&key.as_str())) {
        return Err(format!("unknown field {unknown:?} in a post"));
    }
    let text = match fields.get("text") {
        None => None,
        Some(Value::String(text)) => {
            let chars = text.chars().count();
            if !(1..=MAX_POST_CHARS).contains(&chars) {
                return Err(format!(
                    "text must be 1 to {MAX_POST_CHARS} characters, not {chars}"
                ));
            }
            Some(text.clone())
        }
        Some(_) => return Err("text must be a string".into()),
    };
    let in_reply_to = match fields.get("reply") {
        None => None,
        Some(Value::Object(reply)) => match reply.get("in_reply_to_tweet_id") {
            Some(Value::String(id)) if is_user_id(id) => Some(id.clone()),
            _ => {
                return Err("reply.in_reply_to_tweet_id must be a post id of 1-19 digits".into());
            }
        },
        Some(_) => return Err("reply must be an object".into()),
    };
    let media = match fields.get("media") {
        None => 0,
        Some(media) => {
            let ids = media
                .get("media_ids")
                .and_then(Value::as_array)
                .ok_or("media must be {\"media_ids\": [...]}")?;
            let valid = ids.iter().all(|id| id.as_str().is_some_and(is_user_id));
            if !valid || !(1..=MAX_POST_MEDIA).contains(&ids.len()) {
                return Err(format!(
                    "media.media_ids must hold 1 to {MAX_POST_MEDIA} ids of 1-19 digits"
                ));
            }
            ids.len()
        }
    };
    if text.is_none() && media == 0 {
        return Err("one of text or media is required".into());
    }
    Ok((request, CheckedPost { text, in_reply_to }))
}

/// Checks a send request as the real endpoint would; returns the body and its text, or why it is
/// invalid.
fn check_request(
    participant_id: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, Option<String>), String> {
    if !is_user_id(participant_id) {
        return Err(format!(
            "participant_id {participant_id:?} must be 1-19 digits"
        ));
    }
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
    if let Some(unknown) = fields
        .keys()
        .find(|key| !matches!(key.as_str(), "text" | "attachments"))
    {
        return Err(format!(
            "unknown field {unknown:?}: only text and attachments are allowed"
        ));
    }
    let text = match fields.get("text") {
        None => None,
        Some(Value::String(text)) => {
            let chars = text.chars().count();
            if !(1..=MAX_TEXT_CHARS).contains(&chars) {
                return Err(format!(
                    "text must be 1 to {MAX_TEXT_CHARS} characters, not {chars}"
                ));
            }
            Some(text.clone())
        }
        Some(_) => return Err("text must be a string".into()),
    };
    if let Some(attachments) = fields.get("attachments") {
        check_attachments(attachments)?;
    } else if text.is_none() {
        return Err("one of text or attachments is required".into());
    }
    Ok((request, text))
}

/// Exactly one `{"media_id": "<1-19 digits>"}`: X allows a single attachment per DM.
fn check_attachments(attachments: &Value) -> Result<(), String> {
    let media_id = |item: &Map<String, Value>| match (item.len(), item.get("media_id")) {
        (1, Some(Value::String(id))) if is_user_id(id) => Ok(()),
        _ => Err(format!(
            "an attachment must be {{\"media_id\": \"<1-19 digits>\"}}, not {item:?}"
        )),
    };
    match attachments.as_array().map(Vec::as_slice) {
        Some([Value::Object(item)]) => media_id(item),
        _ => Err("attachments must be an array of exactly one attachment".into()),
    }
}

/// X user and media ids: 1-19 ASCII digits.
fn is_user_id(id: &str) -> bool {
    (1..=19).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}

/// `"{smaller}-{larger}"` of the two user ids, compared as numbers (reference §1.5).
fn conversation_id(a: &str, b: &str) -> String {
    let numeric = |id: &str| (id.len(), id.to_owned());
    let (low, high) = if numeric(a) <= numeric(b) {
        (a, b)
    } else {
        (b, a)
    };
    format!("{low}-{high}")
}

fn fault_response(fault: Fault, rate: RateHeaders) -> Response {
    let (status, reset_epoch_secs) = match fault {
        Fault::RateLimited { reset_epoch_secs } => (429, reset_epoch_secs),
        Fault::Status(status) => (status, rate.reset_epoch_secs),
        Fault::Hang { .. } | Fault::Slow { .. } => (504, rate.reset_epoch_secs),
        Fault::Reset => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(CONTENT_TYPE, "application/json")],
                axum::body::Body::new(BrokenBody),
            )
                .into_response();
        }
        Fault::RetryAfter(value) => {
            let body = LegacyErrors {
                errors: [LegacyError {
                    code: 88,
                    message: "Rate limit exceeded",
                }],
            };
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, value)],
                axum::Json(body),
            )
                .into_response();
        }
    };
    let status = StatusCode::from_u16(status).expect("queue_faults only accepts 4xx and 5xx");
    match status {
        StatusCode::TOO_MANY_REQUESTS => {
            let exhausted = RateHeaders {
                limit: rate.limit,
                remaining: 0,
                reset_epoch_secs,
            };
            let body = LegacyErrors {
                errors: [LegacyError {
                    code: 88,
                    message: "Rate limit exceeded",
                }],
            };
            with_rate_headers((status, axum::Json(body)).into_response(), &exhausted)
        }
        StatusCode::FORBIDDEN => {
            let body = LegacyErrors {
                errors: [LegacyError {
                    code: 349,
                    message: "You cannot send messages to this user.",
                }],
            };
            with_rate_headers((status, axum::Json(body)).into_response(), &rate)
        }
        _ => {
            let reason = status.canonical_reason().unwrap_or("Error");
            let problem = Problem {
                title: reason,
                kind: "about:blank",
                status: status.as_u16(),
                detail: reason,
                errors: None,
            };
            with_rate_headers(problem.into_response(), &rate)
        }
    }
}

/// A body that fails at once: hyper aborts the connection, as a reset in mid-answer would.
struct BrokenBody;

impl hyper::body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
        std::task::Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the simulator broke the connection (scripted reset)",
        ))))
    }
}

fn with_rate_headers(mut response: Response, rate: &RateHeaders) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-rate-limit-limit", rate.limit),
        ("x-rate-limit-remaining", rate.remaining),
        ("x-rate-limit-reset", rate.reset_epoch_secs),
    ] {
        headers.insert(name, HeaderValue::from(value));
    }
    response
}

/// X v2's problem body (`application/problem+json`); fields in X's order.
#[derive(Serialize)]
struct Problem<'a> {
    title: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<[ProblemError<'a>; 1]>,
}

#[derive(Serialize)]
struct ProblemError<'a> {
    message: &'a str,
}

impl IntoResponse for Problem<'_> {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).expect("problems carry valid statuses");
        let body = serde_json::to_vec(&self).expect("problem bodies always serialize");
        (status, [(CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

/// The v1.1-style error body X documents for 429s and DM refusals.
#[derive(Serialize)]
struct LegacyErrors {
    errors: [LegacyError; 1],
}

#[derive(Serialize)]
struct LegacyError {
    code: u16,
    message: &'static str,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn json_headers() -> HeaderMap {
        HeaderMap::from_iter([(CONTENT_TYPE, HeaderValue::from_static("application/json"))])
    }

    fn check(participant_id: &str, body: Value) -> Result<Option<String>, String> {
        check_request(participant_id, &json_headers(), body.to_string().as_bytes())
            .map(|(_, text)| text)
    }

    #[test]
    fn accepts_text_attachment_or_both() {
        assert_eq!(
            check("1500000000000000777", json!({"text": "hi"})),
            Ok(Some("hi".into()))
        );
        assert_eq!(
            check(
                "1",
                json!({"attachments": [{"media_id": "1800000000000000556"}]})
            ),
            Ok(None)
        );
        let both = json!({"text": "label", "attachments": [{"media_id": "1"}]});
        assert_eq!(check("1", both), Ok(Some("label".into())));
        assert_eq!(
            check("1", json!({"text": "é".repeat(MAX_TEXT_CHARS)})).map(|t| t.is_some()),
            Ok(true)
        );
    }

    #[test]
    fn rejects_what_the_real_schema_rejects() {
        for (participant_id, body) in [
            ("12a", json!({"text": "hi"})),
            ("12345678901234567890", json!({"text": "hi"})),
            ("1", json!({"text": "hi", "quick_reply": {}})),
            ("1", json!({"text": ""})),
            ("1", json!({"text": "x".repeat(MAX_TEXT_CHARS + 1)})),
            ("1", json!({"text": 5})),
            ("1", json!({})),
            ("1", json!(["hi"])),
            ("1", json!({"attachments": []})),
            (
                "1",
                json!({"attachments": [{"media_id": "1"}, {"media_id": "2"}]}),
            ),
            ("1", json!({"attachments": [{"media_id": 1}]})),
            ("1", json!({"attachments": [{"media_id": "1", "alt": "x"}]})),
        ] {
            assert!(
                check(participant_id, body.clone()).is_err(),
                "{participant_id} {body} should be rejected"
            );
        }
        assert!(
            check_request("1", &HeaderMap::new(), br#"{"text":"hi"}"#).is_err(),
            "needs a JSON content type"
        );
        assert!(check_request("1", &json_headers(), b"text=hi").is_err());
    }

    fn post(body: Value) -> Result<CheckedPost, String> {
        check_post(&json_headers(), body.to_string().as_bytes()).map(|(_, post)| post)
    }

    #[test]
    fn accepts_reply_posts_up_to_280_characters() {
        assert_eq!(
            post(
                json!({"text": "on it", "reply": {"in_reply_to_tweet_id": "1800000000000000301"}})
            ),
            Ok(CheckedPost {
                text: Some("on it".into()),
                in_reply_to: Some("1800000000000000301".into())
            })
        );
        assert!(post(json!({"text": "é".repeat(MAX_POST_CHARS)})).is_ok());
        assert_eq!(
            post(json!({"media": {"media_ids": ["1", "2", "3", "4"]}, "reply": {"in_reply_to_tweet_id": "9"}}))
                .map(|p| p.text),
            Ok(None)
        );
    }

    #[test]
    fn rejects_posts_the_real_endpoint_rejects() {
        for body in [
            json!({"text": "x".repeat(MAX_POST_CHARS + 1)}),
            json!({"text": ""}),
            json!({"text": 5}),
            json!({}),
            json!({"text": "hi", "in_reply_to_tweet_id": "1"}),
            json!({"text": "hi", "reply": {"in_reply_to_tweet_id": 1}}),
            json!({"text": "hi", "reply": {"in_reply_to_tweet_id": "ext-1"}}),
            json!({"text": "hi", "reply": "1"}),
            json!({"media": {"media_ids": []}}),
            json!({"media": {"media_ids": ["1", "2", "3", "4", "5"]}}),
            json!({"media": {"media_ids": [1]}}),
            json!(["hi"]),
        ] {
            assert!(post(body.clone()).is_err(), "{body} should be rejected");
        }
        assert!(check_post(&HeaderMap::new(), br#"{"text":"hi"}"#).is_err());
    }

    #[test]
    fn conversation_id_orders_ids_numerically() {
        assert_eq!(
            conversation_id("1500000000000000777", "1500000000000000001"),
            "1500000000000000001-1500000000000000777"
        );
        assert_eq!(conversation_id("99", "100"), "99-100");
    }
}
