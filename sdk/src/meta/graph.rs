//! Graph API answers to a send: the platform's id of an accepted message, the typed failure of a
//! refused one (reference §3.4 for WhatsApp, §4.2 for Messenger and Instagram).

use serde_json::Value;

use crate::{HttpResponse, RateLimit, SendFailure, SendResult, http, log, time};

/// How much of an unreadable error body goes into a failure's detail.
const EXCERPT_CHARS: usize = 300;

/// The `error` object of Graph's error envelope:
/// `{"error": {"message", "type", "code", "error_subcode"?, "error_data"?: {"details"}, "fbtrace_id"}}`.
///
/// Kept whole (not only the code) because the detail an operator reads needs the message, and
/// Meta's support asks for the `fbtrace_id` of the failed call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphError {
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: Option<String>,
    /// `error_data.details`: WhatsApp's plain-language explanation, when it differs from `message`.
    pub details: Option<String>,
    pub fbtrace_id: Option<String>,
}

impl GraphError {
    /// The envelope in `body`, or `None` when the body is not one (an HTML error page from a
    /// proxy, an empty body).
    pub fn parse(body: &[u8]) -> Option<GraphError> {
        let body: Value = serde_json::from_slice(body).ok()?;
        let error = body.get("error")?.as_object()?;
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        Some(GraphError {
            code: error.get("code").and_then(Value::as_i64),
            subcode: error.get("error_subcode").and_then(Value::as_i64),
            message: text(error.get("message")).filter(|m| !m.is_empty()),
            details: text(error.get("error_data").and_then(|d| d.get("details")))
                .filter(|d| !d.is_empty()),
            fbtrace_id: text(error.get("fbtrace_id")),
        })
    }

    /// `message: details (code C, subcode S, fbtrace_id T)`, leaving out what is absent.
    pub fn describe(&self) -> String {
        let mut text = self.message.clone().unwrap_or_else(|| "no message".into());
        if let Some(details) = self
            .details
            .as_deref()
            .filter(|d| Some(*d) != self.message.as_deref())
        {
            text.push_str(": ");
            text.push_str(details);
        }
        let mut facts = Vec::new();
        if let Some(code) = self.code {
            facts.push(format!("code {code}"));
        }
        if let Some(subcode) = self.subcode {
            facts.push(format!("subcode {subcode}"));
        }
        if let Some(trace) = &self.fbtrace_id {
            facts.push(format!("fbtrace_id {trace}"));
        }
        if !facts.is_empty() {
            text.push_str(&format!(" ({})", facts.join(", ")));
        }
        text
    }
}

/// Which [`SendFailure`] a Graph error is, before its detail and retry time are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    WindowClosed,
    RateLimited,
    RecipientUnreachable,
    Auth,
    Transient,
    Permanent,
}

/// One Meta product's send API, as its adapter describes it: one constant per adapter, so that
/// both adapters read Graph's answers with the same code and differ only where their products do.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// Starts every failure's detail: `"{name} answered HTTP 400: …"`.
    pub name: &'static str,
    /// Where an accepted send's message id is in the answer, as a JSON pointer
    /// (`/messages/0/id` on WhatsApp, `/message_id` on the Send API).
    pub message_id_at: &'static str,
    /// The codes only this product uses (WhatsApp's 131047 window, Messenger's subcode 2018278,
    /// …), asked first; `None` leaves the error to the codes every product shares and then to the
    /// HTTP status.
    pub codes: fn(&GraphError) -> Option<FailureKind>,
}

impl Product {
    /// Read the answer to the send of Switchboard message `message_id`.
    ///
    /// A 2xx is sent, with the platform's id, or with `message_id` when the answer has none:
    /// the platform accepted the message, and failing it would make the host send it twice.
    /// Anything else is [`Product::failure`].
    pub fn decode_send_response(&self, message_id: &str, resp: &HttpResponse) -> SendResult {
        let status = resp.status;
        if !(200..300).contains(&status) {
            return SendResult::Failed(self.failure(resp));
        }
        let sent = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|body| {
                body.pointer(self.message_id_at)?
                    .as_str()
                    .map(str::to_owned)
            });
        SendResult::Sent(sent.unwrap_or_else(|| {
            log::warn(&format!(
                "{} accepted message {message_id} (HTTP {status}) without `{}`",
                self.name, self.message_id_at
            ));
            message_id.to_owned()
        }))
    }

    /// The typed failure of a refused send: this product's own codes first, then the codes every
    /// Graph product shares (190: the token; 4 and 613: rate limits; 1 and 2: temporary), then
    /// the HTTP status (401 and 403: the credentials; 429: a rate limit; 5xx: temporary;
    /// anything else: permanent). A rate limit carries `Retry-After` when Meta sends one.
    pub fn failure(&self, resp: &HttpResponse) -> SendFailure {
        let error = GraphError::parse(&resp.body);
        let kind = error
            .as_ref()
            .and_then(|error| (self.codes)(error).or_else(|| shared_codes(error.code?)))
            .unwrap_or_else(|| by_status(resp.status));
        let detail = format!(
            "{} answered HTTP {}: {}",
            self.name,
            resp.status,
            match &error {
                Some(error) => error.describe(),
                None => match http::body_excerpt(&resp.body, EXCERPT_CHARS) {
                    text if text.is_empty() => "no body".to_owned(),
                    text => text,
                },
            }
        );
        match kind {
            FailureKind::WindowClosed => SendFailure::WindowClosed(detail),
            FailureKind::RateLimited => SendFailure::RateLimited(RateLimit {
                retry_at_ms: http::retry_after_ms(&resp.headers, time::now_ms()),
                detail,
            }),
            FailureKind::RecipientUnreachable => SendFailure::RecipientUnreachable(detail),
            FailureKind::Auth => SendFailure::Auth(detail),
            FailureKind::Transient => SendFailure::Transient(detail),
            FailureKind::Permanent => SendFailure::Permanent(detail),
        }
    }
}

/// The codes every Graph product uses with one meaning.
fn shared_codes(code: i64) -> Option<FailureKind> {
    match code {
        // The access token is invalid, expired or revoked.
        190 => Some(FailureKind::Auth),
        // Application request limit; "calls to this api have exceeded the rate limit".
        4 | 613 => Some(FailureKind::RateLimited),
        // Unknown and temporary errors, which Meta says to retry.
        1 | 2 => Some(FailureKind::Transient),
        _ => None,
    }
}

/// What the HTTP status says when no code did.
fn by_status(status: u16) -> FailureKind {
    match status {
        401 | 403 => FailureKind::Auth,
        429 => FailureKind::RateLimited,
        500..=599 => FailureKind::Transient,
        _ => FailureKind::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{graph_error, response};

    /// A product whose only own code is 131047 (closed window), to tell its codes from the shared ones.
    const PRODUCT: Product = Product {
        name: "Testing",
        message_id_at: "/messages/0/id",
        codes: |error| (error.code == Some(131_047)).then_some(FailureKind::WindowClosed),
    };

    fn kind(resp: &HttpResponse) -> &'static str {
        match PRODUCT.failure(resp) {
            SendFailure::WindowClosed(_) => "window_closed",
            SendFailure::RateLimited(_) => "rate_limited",
            SendFailure::RecipientUnreachable(_) => "unreachable",
            SendFailure::Auth(_) => "auth",
            SendFailure::Transient(_) => "transient",
            SendFailure::Permanent(_) => "permanent",
        }
    }

    #[test]
    fn accepted_sends_give_the_platform_id_or_ours() {
        let ok = r#"{"messaging_product":"whatsapp","messages":[{"id":"wamid.FIXTURE-OUT-0001"}]}"#;
        assert_eq!(
            PRODUCT.decode_send_response("sb-1", &response(200, &[], ok)),
            SendResult::Sent("wamid.FIXTURE-OUT-0001".into())
        );
        for body in ["", "{}", "not json", r#"{"messages":[{"id":7}]}"#] {
            assert_eq!(
                PRODUCT.decode_send_response("sb-1", &response(201, &[], body)),
                SendResult::Sent("sb-1".into()),
                "{body}"
            );
        }
    }

    #[test]
    fn the_products_codes_come_first_then_the_shared_ones_then_the_status() {
        let cases = [
            (
                graph_error(400, 131_047, None, "Re-engagement message"),
                "window_closed",
            ),
            // A product code wins over a status that would say otherwise.
            (
                graph_error(500, 131_047, None, "Re-engagement message"),
                "window_closed",
            ),
            (
                graph_error(401, 190, Some(463), "Error validating access token"),
                "auth",
            ),
            (
                graph_error(400, 190, None, "Invalid OAuth access token"),
                "auth",
            ),
            (
                graph_error(400, 4, None, "Application request limit reached"),
                "rate_limited",
            ),
            (
                graph_error(
                    400,
                    613,
                    None,
                    "Calls to this api have exceeded the rate limit.",
                ),
                "rate_limited",
            ),
            (
                graph_error(400, 1, None, "An unknown error occurred"),
                "transient",
            ),
            (graph_error(403, 2, None, "Temporary issue"), "transient"),
            (graph_error(403, 200, None, "Permissions error"), "auth"),
            (graph_error(401, 999, None, "?"), "auth"),
            (graph_error(429, 999, None, "?"), "rate_limited"),
            (graph_error(502, 999, None, "?"), "transient"),
            (
                graph_error(400, 100, None, "(#100) Invalid parameter"),
                "permanent",
            ),
            (response(401, &[], "denied"), "auth"),
            (response(429, &[], ""), "rate_limited"),
            (
                response(503, &[], "<html>Service Unavailable</html>"),
                "transient",
            ),
            (response(404, &[], ""), "permanent"),
            (response(400, &[], r#"{"error":"a string"}"#), "permanent"),
        ];
        for (resp, expected) in cases {
            assert_eq!(
                kind(&resp),
                expected,
                "HTTP {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
    }

    #[test]
    fn details_name_the_message_codes_and_trace() {
        let throughput = r#"{ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
             "error_subcode": 2494055, "error_data": { "messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached." },
             "fbtrace_id": "AFixtureTraceId01" } }"#;
        let SendFailure::RateLimited(limit) =
            PRODUCT.failure(&response(429, &[("Retry-After", "30")], throughput))
        else {
            panic!("a 429 is a rate limit");
        };
        assert!(limit.retry_at_ms.unwrap() > time::now_ms());
        assert_eq!(
            limit.detail,
            "Testing answered HTTP 429: (#130429) Rate limit hit: Cloud API message throughput has \
             been reached. (code 130429, subcode 2494055, fbtrace_id AFixtureTraceId01)"
        );
        let same =
            r#"{"error":{"message":"Rate limit hit","error_data":{"details":"Rate limit hit"}}}"#;
        assert_eq!(
            PRODUCT.failure(&response(400, &[], same)),
            SendFailure::Permanent("Testing answered HTTP 400: Rate limit hit".into())
        );
        assert_eq!(
            PRODUCT.failure(&response(400, &[], r#"{"error":{"code":100}}"#)),
            SendFailure::Permanent("Testing answered HTTP 400: no message (code 100)".into())
        );
        assert_eq!(
            PRODUCT.failure(&response(429, &[], "")),
            SendFailure::RateLimited(RateLimit {
                retry_at_ms: None,
                detail: "Testing answered HTTP 429: no body".into()
            })
        );
        let page = format!("<html>{}</html>", "x".repeat(400));
        let SendFailure::Transient(detail) = PRODUCT.failure(&response(502, &[], &page)) else {
            panic!("a 502 is temporary");
        };
        assert_eq!(
            detail.chars().count(),
            "Testing answered HTTP 502: ".len() + EXCERPT_CHARS + 1
        );
    }
}
