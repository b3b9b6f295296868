//! What the simulated Meta Graph APIs share: WhatsApp's Cloud API ([`super::whatsapp`]) and the
//! Messenger Platform's Send API for Messenger and Instagram ([`super::meta`]) are one Graph API
//! to a host. They take the same access tokens and version paths, refuse with the same error
//! envelope, fail with the same scripted [`GraphFault`]s and verify and sign webhooks alike; only
//! the body schemas, the codes and the windows differ, and those stay in each product's module.
//!
//! Where the products answer one fault with different codes (WhatsApp's 131047 and Messenger's
//! 10/2018278 for a closed window), [`GraphProduct`] picks the product's; so a test scripts a
//! fault once, by what it means, and each API answers it as Meta would.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use axum::Json;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderMap, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};

use super::Shared;
use super::records::{Attempt, Platform, Refused};
use crate::signing;

#[cfg(test)]
mod stand_in;
#[cfg(test)]
mod tests;

#[cfg(test)]
pub(crate) use self::stand_in::StandInHost;

/// A failure a Graph send API answers with instead of delivering, queued with
/// [`PlatformSim::whatsapp_fail_next`](super::PlatformSim::whatsapp_fail_next) or
/// [`PlatformSim::meta_fail_next`](super::PlatformSim::meta_fail_next). It comes after the token
/// and body checks, before the window check, and is answered with the product's own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphFault {
    /// The sender's throughput limit. WhatsApp: 429, code 130429; Messenger and Instagram: 400,
    /// code 613 "Calls to this api have exceeded the rate limit."
    RateLimited,
    /// Too many messages to one customer. WhatsApp: 429, code 131056; the Send API has no code
    /// of its own for it and answers as for [`GraphFault::RateLimited`].
    PairRateLimited,
    /// The reply window is closed, whatever the simulator's own record says. WhatsApp: 400, code
    /// 131047 "Re-engagement message"; Messenger and Instagram: 400, code 10, subcode 2018278.
    WindowClosed,
    /// The customer cannot receive the message. WhatsApp: 400, code 131026; Messenger and
    /// Instagram: 400, code 551, subcode 1545041 "This person isn't available right now."
    Undeliverable,
    /// 401, code 190: the access token expired.
    TokenExpired,
    /// Any 4xx or 5xx: 4xx with code 100 (invalid parameter); 5xx with the product's temporary
    /// code (WhatsApp 131000 "Something went wrong", Messenger 2).
    Status(u16),
    /// Exactly this Graph error: HTTP `status` with `{"error": {code, error_subcode?, message}}`.
    Graph {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        message: String,
    },
}

/// Which Graph send API answers, which decides the codes of a fault and the envelope's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GraphProduct {
    /// The WhatsApp Cloud API (reference §3.4).
    WhatsApp,
    /// The Messenger Platform's Send API, which Instagram messaging uses too (§4.2, §5.2).
    Messenger,
}

/// One Graph error answer: `{"error": {"message", "type", "code", "error_subcode"?,
/// "error_data"?, "fbtrace_id"}}` with an HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub status: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    /// `error_data.details`: where WhatsApp says what exactly was wrong.
    pub details: Option<String>,
}

impl GraphError {
    fn new(status: u16, code: i64, subcode: Option<i64>, message: &str) -> Self {
        Self {
            status,
            code,
            subcode,
            message: message.into(),
            details: None,
        }
    }

    /// 401, code 190: the call's access token is missing or belongs to no one configured.
    pub fn invalid_token() -> Self {
        Self::new(
            401,
            190,
            None,
            "Invalid OAuth access token - Cannot parse access token",
        )
    }

    /// 400, code 100, for a body or path the API refuses. WhatsApp says "Invalid parameter" and
    /// puts the reason in `error_data.details`; the Send API puts it in the message.
    pub fn invalid_parameter(product: GraphProduct, reason: &str) -> Self {
        match product {
            GraphProduct::WhatsApp => Self {
                details: Some(reason.into()),
                ..Self::new(400, 100, None, "(#100) Invalid parameter")
            },
            GraphProduct::Messenger => Self::new(400, 100, None, &format!("(#100) {reason}")),
        }
    }

    /// 400, code 2500: the path's Graph API version is not one.
    pub fn unknown_version(version: &str) -> Self {
        Self {
            details: Some(format!("{version:?} is not a Graph API version like v23.0")),
            ..Self::new(400, 2500, None, "Unknown path components")
        }
    }

    /// The answer, as the product shapes it.
    pub fn response(&self, product: GraphProduct) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": "OAuthException",
            "code": self.code,
        });
        if let Some(subcode) = self.subcode {
            error["error_subcode"] = json!(subcode);
        }
        if let Some(details) = &self.details {
            error["error_data"] = match product {
                GraphProduct::WhatsApp => {
                    json!({ "messaging_product": "whatsapp", "details": details })
                }
                GraphProduct::Messenger => json!({ "details": details }),
            };
        }
        error["fbtrace_id"] = json!("ASimulatorTrace");
        let status = StatusCode::from_u16(self.status).expect("graph errors carry valid statuses");
        (status, Json(json!({ "error": error }))).into_response()
    }
}

impl GraphFault {
    /// The error `product` answers this fault with.
    pub(crate) fn error(&self, product: GraphProduct) -> GraphError {
        use GraphProduct::{Messenger, WhatsApp};
        let error = GraphError::new;
        match (self, product) {
            (Self::RateLimited, WhatsApp) => error(429, 130_429, None, "(#130429) Rate limit hit"),
            (Self::PairRateLimited, WhatsApp) => error(
                429,
                131_056,
                None,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            ),
            (Self::RateLimited | Self::PairRateLimited, Messenger) => error(
                400,
                613,
                None,
                "(#613) Calls to this api have exceeded the rate limit.",
            ),
            (Self::WindowClosed, WhatsApp) => GraphError {
                details: Some(
                    "Message failed to send because more than 24 hours have passed since the \
                     customer last replied to this number."
                        .into(),
                ),
                ..error(400, 131_047, None, "Re-engagement message")
            },
            (Self::WindowClosed, Messenger) => error(
                400,
                10,
                Some(2_018_278),
                "(#10) This message is sent outside of allowed window.",
            ),
            (Self::Undeliverable, WhatsApp) => error(400, 131_026, None, "Message undeliverable"),
            (Self::Undeliverable, Messenger) => error(
                400,
                551,
                Some(1_545_041),
                "This person isn't available right now.",
            ),
            (Self::TokenExpired, _) => error(
                401,
                190,
                None,
                "Error validating access token: Session has expired",
            ),
            (Self::Status(status), WhatsApp) if *status >= 500 => {
                error(*status, 131_000, None, "Something went wrong")
            }
            (Self::Status(status), Messenger) if *status >= 500 => error(
                *status,
                2,
                None,
                "An unexpected error has occurred. Please retry your request later.",
            ),
            (Self::Status(status), _) => error(*status, 100, None, "(#100) Invalid parameter"),
            (
                Self::Graph {
                    status,
                    code,
                    subcode,
                    message,
                },
                _,
            ) => error(*status, *code, *subcode, message),
        }
    }
}

/// Scripted faults, answered in order by the next calls that pass the checks.
#[derive(Default)]
pub(crate) struct FaultQueue(Mutex<VecDeque<GraphFault>>);

impl FaultQueue {
    /// Queues `fault` for the next `n` calls.
    ///
    /// # Panics
    /// If the fault's status is not 4xx or 5xx (either product's).
    pub fn queue(&self, n: usize, fault: GraphFault) {
        for product in [GraphProduct::WhatsApp, GraphProduct::Messenger] {
            let status = fault.error(product).status;
            assert!(
                (400..=599).contains(&status),
                "a scripted Graph fault needs a 4xx or 5xx status, not {status}"
            );
        }
        lock(&self.0).extend(std::iter::repeat_n(fault, n));
    }

    pub fn next(&self) -> Option<GraphFault> {
        lock(&self.0).pop_front()
    }
}

/// A lock that outlives a test thread's panic: the records stay readable for the next assertion.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The call's access token: the `access_token` query parameter (as the Send API examples pass
/// it) or an `Authorization: Bearer` header (as the Cloud API examples do); Graph takes either.
pub(crate) fn access_token(uri: &Uri, headers: &HeaderMap) -> Option<String> {
    let from_query = uri.query().and_then(|query| {
        url_pairs(query)
            .find(|(key, _)| key == "access_token")
            .map(|(_, value)| value)
    });
    from_query.or_else(|| {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        value.strip_prefix("Bearer ").map(str::to_owned)
    })
}

fn url_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        Some((percent_decode(key)?, percent_decode(value)?))
    })
}

fn percent_decode(text: &str) -> Option<String> {
    let text = text.replace('+', " ");
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `v` + major + `.` + minor, e.g. `v23.0`: the Graph API version of every call's path.
pub(crate) fn is_graph_version(version: &str) -> bool {
    version.strip_prefix('v').is_some_and(|rest| {
        rest.split_once('.').is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
    })
}

/// The fields of a send body: `Content-Type: application/json` and a JSON object, as both send
/// APIs require before they read any field.
pub(crate) fn json_fields(headers: &HeaderMap, body: &[u8]) -> Result<Map<String, Value>, String> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/json") {
        return Err(format!(
            "Content-Type must be application/json, not {content_type:?}"
        ));
    }
    match serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))? {
        Value::Object(fields) => Ok(fields),
        _ => Err("the body must be a JSON object".into()),
    }
}

/// Percent-encodes everything but unreserved characters, as a query value.
pub(crate) fn query_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One call to a Graph send API, for recording what became of it.
pub(crate) struct GraphCall<'a> {
    pub sim: &'a Shared,
    pub product: GraphProduct,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

impl GraphCall<'_> {
    /// Records the call as refused (`reason` says why, for the test) and answers `error`.
    pub fn refuse(
        &self,
        platform: Platform,
        integration_id: Option<&str>,
        reason: String,
        error: GraphError,
    ) -> Response {
        self.sim.records.refuse(Refused {
            platform,
            integration_id: integration_id.map(str::to_owned),
            path: self.uri.path().to_owned(),
            status: error.status,
            reason,
            headers: self.headers.clone(),
            body: String::from_utf8_lossy(self.body).into_owned(),
            received_at: SystemTime::now(),
        });
        error.response(self.product)
    }

    /// Records a send that passed the checks as an attempt that failed with `fault`, and answers
    /// the fault.
    pub fn fail(
        &self,
        platform: Platform,
        integration_id: &str,
        (recipient_id, text): (String, Option<String>),
        fault: &GraphFault,
    ) -> Response {
        let error = fault.error(self.product);
        self.sim.records.fail(Attempt {
            platform,
            integration_id: integration_id.to_owned(),
            recipient_id,
            text,
            status: error.status,
            received_at: SystemTime::now(),
        });
        error.response(self.product)
    }
}

impl Shared {
    /// Posts a customer webhook for a Meta integration, signed as Meta signs (`X-Hub-Signature-256`,
    /// hex HMAC-SHA256 with the app secret). Returns the host's status and body.
    pub(crate) async fn post_meta_webhook(
        &self,
        integration_id: &str,
        app_secret: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<(u16, String)> {
        let signature = signing::hub_signature_hex(app_secret, &body);
        self.host
            .post_webhook(integration_id, body, ("x-hub-signature-256", signature))
            .await
    }

    /// Meta's subscription check: `GET {host}/webhooks/{integration_id}?hub.mode=subscribe&
    /// hub.verify_token=…&hub.challenge=…`. Returns the host's status and body (the challenge, if
    /// it agrees).
    pub(crate) async fn verify_meta_webhook(
        &self,
        integration_id: &str,
        verify_token: &str,
        challenge: &str,
    ) -> anyhow::Result<(u16, String)> {
        let base_url = lock_read(&self.host.base_url);
        let Some(base_url) = base_url else {
            bail!("the simulator does not know where the host is: set SimConfig::host_base_url");
        };
        let url = format!(
            "{base_url}/webhooks/{integration_id}?hub.mode=subscribe&hub.verify_token={}&hub.challenge={}",
            query_escape(verify_token),
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
