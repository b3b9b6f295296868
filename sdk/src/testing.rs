//! Helpers for adapters' unit tests: requests and responses as the host hands them over, bodies
//! signed the way each platform signs them, and the refusals a test expects.
//!
//! Every adapter's tests needed the same few builders, and each wrote its own; this module is
//! them, once. It is behind the `testing` feature so that no guest carries it: an adapter turns
//! it on for its tests only,
//!
//! ```toml
//! [dev-dependencies]
//! switchboard-sdk = { workspace = true, features = ["testing"] }
//! ```
//!
//! and `cargo test -p <adapter>` builds it natively; the `wasm32-wasip2` build never sees it.
//! The helpers panic with what they got when a test's expectation fails, as test code should.

use std::fmt::Debug;

use crate::{
    AdapterError, Attachment, AttachmentKind, Author, HttpResponse, InboundEvent, InboundMessage,
    OutboundKind, OutboundMessage, WebhookRequest, signature,
};

/// Header pairs as the host passes them.
pub fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// A webhook request as the host hands it to `handle_webhook` (`query` without the `?`).
pub fn webhook_request(
    method: &str,
    query: &str,
    header_pairs: &[(&str, &str)],
    body: &[u8],
) -> WebhookRequest {
    WebhookRequest {
        method: method.into(),
        path: "/webhooks/test-integration".into(),
        query: query.into(),
        headers: headers(header_pairs),
        body: body.to_vec(),
    }
}

/// How a platform signs its webhooks: which header, and how the HMAC-SHA256 is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// `X-Hub-Signature-256: sha256=<lowercase hex>` (WhatsApp, Messenger, Instagram).
    Meta,
    /// `x-twitter-webhooks-signature: sha256=<base64>`.
    X,
    /// `X-Hub-Signature-256: sha256=<base64>` (Genesys-style Open Messaging).
    OpenMessaging,
}

impl Signing {
    /// The header the signature travels in, lower-cased as the host passes it.
    pub fn header(self) -> &'static str {
        match self {
            Signing::Meta | Signing::OpenMessaging => "x-hub-signature-256",
            Signing::X => "x-twitter-webhooks-signature",
        }
    }

    /// The header value signing `body` with `secret`.
    pub fn sign(self, secret: &str, body: &[u8]) -> String {
        match self {
            Signing::Meta => signature::sign_hex(secret.as_bytes(), body),
            Signing::X | Signing::OpenMessaging => signature::sign_base64(secret.as_bytes(), body),
        }
    }

    /// A POST of `body` carrying its signature with `secret`.
    pub fn post(self, secret: &str, body: &[u8]) -> WebhookRequest {
        let value = self.sign(secret, body);
        webhook_request("POST", "", &[(self.header(), &value)], body)
    }
}

/// A platform's answer to a request the adapter built.
pub fn response(status: u16, header_pairs: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers(header_pairs),
        body: body.as_bytes().to_vec(),
    }
}

/// A Graph API error answer (reference §3.4, §4.2):
/// `{"error": {"message", "type": "OAuthException", "code", "error_subcode"?, "fbtrace_id"}}`.
pub fn graph_error(status: u16, code: i64, subcode: Option<i64>, message: &str) -> HttpResponse {
    let mut error = serde_json::json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AFixtureTrace02",
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = subcode.into();
    }
    response(
        status,
        &[],
        &serde_json::json!({ "error": error }).to_string(),
    )
}

/// The reason of an [`AdapterError::Malformed`]; panics with the result when it is anything else.
#[track_caller]
pub fn malformed<T: Debug>(result: Result<T, AdapterError>) -> String {
    match result {
        Err(AdapterError::Malformed(reason)) => reason,
        other => panic!("expected a malformed error, got {other:?}"),
    }
}

/// The reason of an [`AdapterError::Unauthorized`]; panics with the result when it is anything
/// else.
#[track_caller]
pub fn unauthorized<T: Debug>(result: Result<T, AdapterError>) -> String {
    match result {
        Err(AdapterError::Unauthorized(reason)) => reason,
        other => panic!("expected an unauthorized error, got {other:?}"),
    }
}

/// The one message `events` should be; panics with the events otherwise.
#[track_caller]
pub fn only_message(events: Vec<InboundEvent>) -> InboundMessage {
    match <[InboundEvent; 1]>::try_from(events) {
        Ok([InboundEvent::Message(message)]) => message,
        other => panic!("expected one message, got {other:?}"),
    }
}

/// An agent's (`Sam`'s) direct message `sb-msg-0001` to `customer_id`, with `text` and nothing
/// else; tests set the fields they are about.
pub fn outbound_message(customer_id: &str, text: Option<&str>) -> OutboundMessage {
    OutboundMessage {
        id: "sb-msg-0001".into(),
        conversation_id: "sb-conv-0001".into(),
        customer_id: customer_id.into(),
        text: text.map(str::to_owned),
        quick_replies: Vec::new(),
        attachments: Vec::new(),
        author: Author::Agent,
        author_name: Some("Sam".into()),
        in_reply_to: None,
        kind: OutboundKind::Direct,
        template: None,
        tag: None,
    }
}

/// An attachment of `kind` at `url` or uploaded as `media_id`, with no other detail.
pub fn attachment(kind: AttachmentKind, url: Option<&str>, media_id: Option<&str>) -> Attachment {
    Attachment {
        kind,
        url: url.map(str::to_owned),
        media_id: media_id.map(str::to_owned),
        mime_type: None,
        filename: None,
        caption: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;

    #[test]
    fn signs_as_each_platform_documents() {
        // The reference's vectors (§1.2, §2.2, §6.6).
        let meta = Signing::Meta.post(
            "fixture-app-secret",
            br#"{"object":"whatsapp_business_account","entry":[]}"#,
        );
        assert_eq!(
            http::header(&meta.headers, "X-Hub-Signature-256"),
            Some("sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a")
        );
        assert_eq!(meta.method, "POST");
        let x = Signing::X.sign(
            "fixture-consumer-secret",
            br#"{"for_user_id":"1500000000000000001","direct_message_events":[]}"#,
        );
        assert_eq!(x, "sha256=H6uCFNjmOrvcve7O/goS2xoqLmNF6grbokClLZswKqg=");
        assert_eq!(Signing::X.header(), "x-twitter-webhooks-signature");
        let open = Signing::OpenMessaging.sign(
            "fixture-genesys-secret",
            br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#,
        );
        assert_eq!(open, "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=");
    }

    #[test]
    fn graph_errors_have_the_envelope() {
        let resp = graph_error(400, 10, Some(2_018_278), "outside");
        let body: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(resp.status, 400);
        assert_eq!(body["error"]["code"], 10);
        assert_eq!(body["error"]["error_subcode"], 2_018_278);
        assert!(
            graph_error(500, 2, None, "x")
                .body
                .windows(8)
                .all(|w| w != b"subcode\"")
        );
    }

    #[test]
    #[should_panic(expected = "expected a malformed error, got Ok(1)")]
    fn a_missed_refusal_says_what_came() {
        malformed::<i32>(Ok(1));
    }
}
