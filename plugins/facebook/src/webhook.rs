//! The webhook endpoint: Meta's verification GET and signed event POSTs (reference §2).

use switchboard_sdk::{
    AdapterError, HttpResponse, WebhookOutcome, WebhookRequest, http, signature,
};

use crate::{Platform, inbound};

/// Meta signs every event POST in this header: `sha256=<lowercase hex HMAC-SHA256(app secret, body)>`.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…` (§2.1): answer the raw
/// challenge as plain text when the token matches the configured one.
pub fn verify_subscription(
    query: &str,
    verify_token: &str,
) -> Result<WebhookOutcome, AdapterError> {
    let mode = http::query_param(query, "hub.mode");
    if mode.as_deref() != Some("subscribe") {
        return Err(AdapterError::Unauthorized(format!(
            "a verification GET needs hub.mode=subscribe, not {:?}",
            mode.unwrap_or_default()
        )));
    }
    let token = http::query_param(query, "hub.verify_token").unwrap_or_default();
    if !same_secret(token.as_bytes(), verify_token.as_bytes()) {
        return Err(AdapterError::Unauthorized(
            "hub.verify_token does not match the integration's verify_token".into(),
        ));
    }
    let challenge = http::query_param(query, "hub.challenge").unwrap_or_default();
    Ok(WebhookOutcome {
        response: HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: challenge.into_bytes(),
        },
        events: Vec::new(),
    })
}

/// An event POST: check the signature over the raw body, then decode it.
pub fn handle_post(
    req: &WebhookRequest,
    platform: Platform,
    app_secret: &str,
    page_id: &str,
) -> Result<WebhookOutcome, AdapterError> {
    let value = http::header(&req.headers, SIGNATURE_HEADER).ok_or_else(|| {
        AdapterError::Unauthorized(format!("the {SIGNATURE_HEADER} header is missing"))
    })?;
    signature::verify_hex(app_secret.as_bytes(), &req.body, value)
        .map_err(|e| AdapterError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))?;
    Ok(WebhookOutcome {
        response: http::empty_response(200),
        events: inbound::decode(&req.body, platform, page_id)?,
    })
}

pub fn unsupported_method(method: &str) -> AdapterError {
    AdapterError::Malformed(format!(
        "Meta sends GET (verification) and POST (events) only, not {method}"
    ))
}

/// Compares the verify token in constant time, so a prober learns nothing from timing.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(given.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::{InboundEvent, MessageKind};

    use super::*;

    const SECRET: &str = "fixture-app-secret";
    const PAGE: &str = "600000000000003";

    fn request(method: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
        WebhookRequest {
            method: method.into(),
            path: "/webhooks/fb-demo".into(),
            query: query.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn answers_the_verification_challenge() {
        let query =
            "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge=1158201444";
        let outcome = verify_subscription(query, "fixture-verify-token").unwrap();
        assert_eq!(outcome.response.status, 200);
        assert_eq!(outcome.response.body, b"1158201444");
        assert_eq!(
            http::header(&outcome.response.headers, "content-type"),
            Some("text/plain")
        );
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn refuses_a_wrong_verification() {
        for query in [
            "hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=1",
            "hub.mode=subscribe&hub.verify_token=fixture-verify-tokeN&hub.challenge=1",
            "hub.mode=subscribe&hub.challenge=1",
            "hub.mode=unsubscribe&hub.verify_token=fixture-verify-token&hub.challenge=1",
            "hub.verify_token=fixture-verify-token&hub.challenge=1",
            "",
        ] {
            assert!(
                matches!(
                    verify_subscription(query, "fixture-verify-token"),
                    Err(AdapterError::Unauthorized(_))
                ),
                "{query}"
            );
        }
    }

    #[test]
    fn reference_signature_vector_is_accepted() {
        // §2.2's test vector; its object is WhatsApp's, so it is malformed for this adapter,
        // but only after the signature passed.
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let signed = "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";
        let req = request("POST", "", &[("X-Hub-Signature-256", signed)], body);
        assert!(matches!(
            handle_post(&req, Platform::Messenger, SECRET, PAGE),
            Err(AdapterError::Malformed(reason)) if reason.contains("whatsapp_business_account")
        ));
        assert!(matches!(
            handle_post(&req, Platform::Messenger, "another-secret", PAGE),
            Err(AdapterError::Unauthorized(_))
        ));
    }

    #[test]
    fn decodes_a_signed_post() {
        let body = include_bytes!("../fixtures/messenger-message-text.json");
        let signed = signature::sign_hex(SECRET.as_bytes(), body);
        let req = request("POST", "", &[(SIGNATURE_HEADER, &signed)], body);
        let outcome = handle_post(&req, Platform::Messenger, SECRET, PAGE).unwrap();
        assert_eq!(outcome.response.status, 200);
        match outcome.events.as_slice() {
            [InboundEvent::Message(message)] => assert_eq!(message.kind, MessageKind::Direct),
            other => panic!("expected one message, got {other:?}"),
        }
    }

    #[test]
    fn refuses_unsigned_and_badly_signed_posts() {
        let body = include_bytes!("../fixtures/messenger-message-text.json");
        let missing = handle_post(
            &request("POST", "", &[], body),
            Platform::Messenger,
            SECRET,
            PAGE,
        );
        assert_eq!(
            missing,
            Err(AdapterError::Unauthorized(
                "the x-hub-signature-256 header is missing".into()
            ))
        );

        let signed = signature::sign_hex(SECRET.as_bytes(), body);
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        let req = request("POST", "", &[(SIGNATURE_HEADER, &signed)], &tampered);
        assert_eq!(
            handle_post(&req, Platform::Messenger, SECRET, PAGE),
            Err(AdapterError::Unauthorized(
                "x-hub-signature-256: the signature does not match the body and secret".into()
            ))
        );

        let req = request("POST", "", &[(SIGNATURE_HEADER, "sha256=zz")], body);
        assert_eq!(
            handle_post(&req, Platform::Messenger, SECRET, PAGE),
            Err(AdapterError::Unauthorized(
                "x-hub-signature-256: the signature is not valid hex".into()
            ))
        );

        // The legacy SHA-1 header alone is not enough.
        let req = request("POST", "", &[("x-hub-signature", "sha1=0000")], body);
        assert!(matches!(
            handle_post(&req, Platform::Messenger, SECRET, PAGE),
            Err(AdapterError::Unauthorized(_))
        ));
    }

    #[test]
    fn other_methods_are_malformed() {
        assert!(
            matches!(unsupported_method("PUT"), AdapterError::Malformed(r) if r.contains("PUT"))
        );
    }
}
