//! The webhook endpoint: POSTs of messages, receipts and typing events.
//!
//! The middleware authenticates each POST with `X-Hub-Signature-256` (the scheme Genesys uses
//! towards the middleware), or, when the integration sets `inbound_token`, with
//! `Authorization: Bearer <inbound_token>`: middleware written for Genesys authenticates its
//! inbound calls with a bearer token and signs nothing.
//!
//! Like Genesys, the answer is `200` with the normalized body as accepted: for a message, its `id`
//! (the middleware's `channel.messageId`, which the host deduplicates on), `type` and
//! `direction: "Inbound"` filled in.

use serde_json::Value;
use switchboard_sdk::{
    AdapterError, HttpResponse, InboundEvent, WebhookOutcome, WebhookRequest, http, signature,
};

use crate::inbound;

/// The header that carries `sha256=<base64 HMAC-SHA256(secret, body)>`, both ways.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Answer one request to the integration's webhook URL. `inbound_token` is the optional bearer
/// token accepted instead of a signature.
pub fn handle(
    req: &WebhookRequest,
    secret: &str,
    inbound_token: Option<&str>,
) -> Result<WebhookOutcome, AdapterError> {
    if req.method != "POST" {
        return Err(AdapterError::Malformed(format!(
            "Open Messaging delivers by POST only (there is no handshake), not {}",
            req.method
        )));
    }
    let bearer = inbound_token.filter(|token| !token.is_empty());
    match (bearer, http::header(&req.headers, SIGNATURE_HEADER)) {
        (Some(token), None) => verify_bearer(req, token)?,
        _ => verify_signature(req, secret)?,
    }
    let events = inbound::decode(&req.body)?;
    Ok(WebhookOutcome {
        response: accepted(&req.body, &events),
        events,
    })
}

/// `Authorization: Bearer <token>`, compared in constant time (as HMACs of both values).
fn verify_bearer(req: &WebhookRequest, token: &str) -> Result<(), AdapterError> {
    let presented = http::header(&req.headers, "authorization")
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .ok_or_else(|| {
            AdapterError::Unauthorized(format!(
                "neither the {SIGNATURE_HEADER} header nor an `Authorization: Bearer` token is present"
            ))
        })?;
    let key = b"switchboard-open-messaging-bearer";
    let expected = signature::sign_base64(key, token.as_bytes());
    signature::verify_base64(key, presented.trim().as_bytes(), &expected).map_err(|_| {
        AdapterError::Unauthorized(
            "the bearer token is not the integration's `inbound_token`".into(),
        )
    })
}

/// The `200` answer: the body as accepted, as Genesys answers with the normalized message.
fn accepted(body: &[u8], events: &[InboundEvent]) -> HttpResponse {
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(body) else {
        return http::empty_response(200);
    };
    if let [InboundEvent::Message(message)] = events {
        object
            .entry("id")
            .or_insert_with(|| Value::String(message.id.clone()));
        object
            .entry("type")
            .or_insert_with(|| Value::String("Text".into()));
        object
            .entry("direction")
            .or_insert_with(|| Value::String("Inbound".into()));
    }
    http::json_response(200, &Value::Object(object))
}

/// Check the signature over the raw body. Genesys's own sample signs the re-serialized body
/// (`JSON.stringify` of the parsed JSON), so a body that fails as received is checked once more
/// in its compact form; base64 and hex digests are both accepted, as public middleware does.
fn verify_signature(req: &WebhookRequest, secret: &str) -> Result<(), AdapterError> {
    let value = http::header(&req.headers, SIGNATURE_HEADER).ok_or_else(|| {
        AdapterError::Unauthorized(format!("the {SIGNATURE_HEADER} header is missing"))
    })?;
    let key = secret.as_bytes();
    signature::verify_base64_or_hex(key, &req.body, value)
        .or_else(|error| match compact_json(&req.body) {
            Some(compact) => signature::verify_base64_or_hex(key, &compact, value),
            None => Err(error),
        })
        .map_err(|e| AdapterError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))
}

/// The body without the whitespace between JSON tokens (what `JSON.stringify` would produce
/// for the same keys in the same order), or `None` when there is none to remove.
fn compact_json(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let (mut in_string, mut escaped) = (false, false);
    for &byte in body {
        if in_string {
            out.push(byte);
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
        } else if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
            in_string = byte == b'"';
            out.push(byte);
        }
    }
    (out.len() != body.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::InboundEvent;
    use switchboard_sdk::testing::{Signing, webhook_request};

    use super::*;

    // The Open Messaging signature test vector of the wire-format reference (§6.6).
    const SECRET: &str = "fixture-genesys-secret";
    const BODY: &[u8] = br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
    const BODY_SIGNATURE: &str = "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=";

    fn post(headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
        webhook_request("POST", "", headers, body)
    }

    fn refusal(req: &WebhookRequest) -> AdapterError {
        handle(req, SECRET, None).expect_err("the request should be refused")
    }

    #[test]
    fn accepts_the_reference_vector() {
        // An outbound message coming back is an echo: accepted, no events.
        let outcome = handle(
            &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], BODY),
            SECRET,
            None,
        )
        .unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn decodes_a_signed_fixture() {
        let body = include_bytes!("../fixtures/inbound-message.json");
        let outcome = handle(&Signing::OpenMessaging.post(SECRET, body), SECRET, None).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(matches!(
            outcome.events.as_slice(),
            [InboundEvent::Message(message)] if message.id == "ext-msg-000123"
        ));
    }

    #[test]
    fn accepts_hex_and_signatures_of_the_compact_body() {
        let hex = signature::sign_hex(SECRET.as_bytes(), BODY);
        assert!(handle(&post(&[(SIGNATURE_HEADER, &hex)], BODY), SECRET, None).is_ok());

        // Signed as `JSON.stringify(parsed)`, received pretty-printed.
        let pretty = b"{\n  \"id\": \"msg-0001\",\n  \"type\": \"Text\",\n  \"text\": \"hi\",\n  \"direction\": \"Outbound\"\n}";
        assert!(
            handle(
                &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], pretty),
                SECRET,
                None
            )
            .is_ok()
        );
        // Whitespace inside strings is content, not layout.
        let spaced = br#"{"id":"msg-0001","type":"Text","text":"h i","direction":"Outbound"}"#;
        assert!(matches!(
            refusal(&post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], spaced)),
            AdapterError::Unauthorized(_)
        ));
    }

    #[test]
    fn refuses_unsigned_and_badly_signed_posts() {
        assert_eq!(
            refusal(&post(&[], BODY)),
            AdapterError::Unauthorized("the x-hub-signature-256 header is missing".into())
        );
        let tampered = br#"{"id":"msg-0002","type":"Text","text":"hi","direction":"Outbound"}"#;
        assert_eq!(
            refusal(&post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], tampered)),
            AdapterError::Unauthorized(
                "x-hub-signature-256: the signature does not match the body and secret".into()
            )
        );
        assert!(matches!(
            handle(
                &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], BODY),
                "other-secret",
                None
            ),
            Err(AdapterError::Unauthorized(_))
        ));
        assert_eq!(
            refusal(&post(&[(SIGNATURE_HEADER, "sha256=%%%")], BODY)),
            AdapterError::Unauthorized(
                "x-hub-signature-256: the signature is not valid base64 or hex".into()
            )
        );
    }

    #[test]
    fn a_signed_but_malformed_body_is_malformed() {
        let body = b"{\"channel\":";
        assert!(matches!(
            refusal(&Signing::OpenMessaging.post(SECRET, body)),
            AdapterError::Malformed(_)
        ));
    }

    #[test]
    fn accepts_a_bearer_token_when_configured() {
        let body = include_bytes!("../fixtures/inbound-message.json");
        let token = Some("fixture-inbound-token");
        let bearer = post(&[("Authorization", "Bearer fixture-inbound-token")], body);
        let outcome = handle(&bearer, SECRET, token).unwrap();
        assert!(matches!(
            outcome.events.as_slice(),
            [InboundEvent::Message(_)]
        ));

        let wrong = post(&[("authorization", "Bearer guessed")], body);
        assert_eq!(
            handle(&wrong, SECRET, token).unwrap_err(),
            AdapterError::Unauthorized(
                "the bearer token is not the integration's `inbound_token`".into()
            )
        );
        let neither = post(&[], body);
        assert!(matches!(
            handle(&neither, SECRET, token),
            Err(AdapterError::Unauthorized(reason)) if reason.contains("Bearer")
        ));
        // Without `inbound_token` a bearer token proves nothing.
        assert_eq!(
            handle(&bearer, SECRET, None).unwrap_err(),
            AdapterError::Unauthorized("the x-hub-signature-256 header is missing".into())
        );
        // A signature is still checked when both are configured.
        assert!(handle(&Signing::OpenMessaging.post(SECRET, body), SECRET, token).is_ok());
        assert!(
            handle(
                &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], body),
                SECRET,
                token
            )
            .is_err()
        );
    }

    #[test]
    fn answers_with_the_normalized_message_as_genesys_does() {
        let body = include_bytes!("../fixtures/inbound-message.json");
        let outcome = handle(&Signing::OpenMessaging.post(SECRET, body), SECRET, None).unwrap();
        assert_eq!(
            http::header(&outcome.response.headers, "content-type"),
            Some("application/json")
        );
        let answer: Value = serde_json::from_slice(&outcome.response.body).unwrap();
        assert_eq!(answer["id"], "ext-msg-000123");
        assert_eq!(answer["type"], "Text");
        assert_eq!(answer["direction"], "Inbound");
        assert_eq!(answer["channel"]["from"]["id"], "cust-42");
        assert_eq!(answer["text"], "Hi, I need help with order 88-431");

        let receipt = include_bytes!("../fixtures/receipt-failed.json");
        let outcome = handle(&Signing::OpenMessaging.post(SECRET, receipt), SECRET, None).unwrap();
        let answer: Value = serde_json::from_slice(&outcome.response.body).unwrap();
        assert_eq!(answer["status"], "Failed");
        assert!(answer.get("direction").is_none());
    }

    #[test]
    fn only_post_is_accepted() {
        let mut req = post(&[], b"");
        req.method = "GET".into();
        assert!(matches!(refusal(&req), AdapterError::Malformed(_)));
    }

    #[test]
    fn compaction_keeps_strings() {
        assert_eq!(
            compact_json(b"{ \"a\" : \"x \\\" y\" ,\n\"b\": [1, 2] }").unwrap(),
            br#"{"a":"x \" y","b":[1,2]}"#
        );
        assert_eq!(compact_json(BODY), None);
    }
}
