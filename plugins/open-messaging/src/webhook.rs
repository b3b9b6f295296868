//! The webhook endpoint: signed POSTs of messages, receipts and typing events.

use switchboard_sdk::{AdapterError, WebhookOutcome, WebhookRequest, http, signature};

use crate::inbound;

/// The header that carries `sha256=<base64 HMAC-SHA256(secret, body)>`, both ways.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Answer one request to the integration's webhook URL.
pub fn handle(req: &WebhookRequest, secret: &str) -> Result<WebhookOutcome, AdapterError> {
    if req.method != "POST" {
        return Err(AdapterError::Malformed(format!(
            "Open Messaging delivers by POST only (there is no handshake), not {}",
            req.method
        )));
    }
    verify_signature(req, secret)?;
    Ok(WebhookOutcome {
        response: http::empty_response(200),
        events: inbound::decode(&req.body)?,
    })
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

    use super::*;

    // The Open Messaging signature test vector of the wire-format reference (§6.6).
    const SECRET: &str = "fixture-genesys-secret";
    const BODY: &[u8] = br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
    const BODY_SIGNATURE: &str = "sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=";

    fn post(headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path: "/webhooks/om-demo".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    fn refusal(req: &WebhookRequest) -> AdapterError {
        handle(req, SECRET).expect_err("the request should be refused")
    }

    #[test]
    fn accepts_the_reference_vector() {
        // An outbound message coming back is an echo: accepted, no events.
        let outcome = handle(&post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], BODY), SECRET).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn decodes_a_signed_fixture() {
        let body = include_bytes!("../fixtures/inbound-message.json");
        let signed = signature::sign_base64(SECRET.as_bytes(), body);
        let outcome = handle(&post(&[("X-Hub-Signature-256", &signed)], body), SECRET).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(matches!(
            outcome.events.as_slice(),
            [InboundEvent::Message(message)] if message.id == "ext-msg-000123"
        ));
    }

    #[test]
    fn accepts_hex_and_signatures_of_the_compact_body() {
        let hex = signature::sign_hex(SECRET.as_bytes(), BODY);
        assert!(handle(&post(&[(SIGNATURE_HEADER, &hex)], BODY), SECRET).is_ok());

        // Signed as `JSON.stringify(parsed)`, received pretty-printed.
        let pretty = b"{\n  \"id\": \"msg-0001\",\n  \"type\": \"Text\",\n  \"text\": \"hi\",\n  \"direction\": \"Outbound\"\n}";
        assert!(handle(&post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], pretty), SECRET).is_ok());
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
                "other-secret"
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
        let signed = signature::sign_base64(SECRET.as_bytes(), body);
        assert!(matches!(
            refusal(&post(&[(SIGNATURE_HEADER, &signed)], body)),
            AdapterError::Malformed(_)
        ));
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
