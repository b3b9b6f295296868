//! The webhook endpoint: the verification handshake on GET, signed event deliveries on POST
//! (reference §2.1, §2.2).

use switchboard_sdk::{
    AdapterError, HttpResponse, WebhookOutcome, WebhookRequest, http, signature,
};

use crate::inbound;

/// Meta signs every event POST in this header: `sha256=<hex HMAC-SHA256(app secret, raw body)>`.
const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: Meta checks that we know the
/// verify token typed into the app dashboard; the answer is the challenge as plain text.
pub fn verify_subscription(
    query: &str,
    verify_token: &str,
) -> Result<WebhookOutcome, AdapterError> {
    let mode = http::query_param(query, "hub.mode").unwrap_or_default();
    if mode != "subscribe" {
        return Err(AdapterError::Malformed(format!(
            "a GET must be Meta's verification request with `hub.mode=subscribe`, not {mode:?}; \
             events arrive by POST"
        )));
    }
    let token = http::query_param(query, "hub.verify_token").ok_or_else(|| {
        AdapterError::Unauthorized("the verification request has no `hub.verify_token`".into())
    })?;
    if !same_secret(&token, verify_token) {
        return Err(AdapterError::Unauthorized(
            "`hub.verify_token` does not match the integration's verify_token".into(),
        ));
    }
    let challenge = http::query_param(query, "hub.challenge")
        .filter(|challenge| !challenge.is_empty())
        .ok_or_else(|| {
            AdapterError::Malformed("the verification request has no `hub.challenge`".into())
        })?;
    Ok(WebhookOutcome {
        response: HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: challenge.into_bytes(),
        },
        events: Vec::new(),
    })
}

/// A signed event delivery: check the signature over the raw body, then decode.
pub fn handle_event(
    req: &WebhookRequest,
    app_secret: &str,
    phone_number_id: &str,
) -> Result<WebhookOutcome, AdapterError> {
    let value = http::header(&req.headers, SIGNATURE_HEADER).ok_or_else(|| {
        AdapterError::Unauthorized(format!("the {SIGNATURE_HEADER} header is missing"))
    })?;
    signature::verify_hex(app_secret.as_bytes(), &req.body, value)
        .map_err(|e| AdapterError::Unauthorized(format!("{SIGNATURE_HEADER}: {e}")))?;
    Ok(WebhookOutcome {
        response: http::empty_response(200),
        events: inbound::decode(&req.body, phone_number_id)?,
    })
}

pub fn unsupported_method(method: &str) -> AdapterError {
    AdapterError::Malformed(format!(
        "WhatsApp sends GET (verification) and POST (events) only, not {method}"
    ))
}

/// Compares two secrets without an early exit: both are hashed under a fixed key first, so the
/// time taken says nothing about how much of the token an attacker got right (nor its length).
fn same_secret(given: &str, expected: &str) -> bool {
    let a = signature::hmac_sha256(b"verify-token", given.as_bytes());
    let b = signature::hmac_sha256(b"verify-token", expected.as_bytes());
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::InboundEvent;

    use super::*;

    // The reference's Meta test vector (§2.2).
    const SECRET: &str = "fixture-app-secret";
    const SIGNED_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const BODY_SIGNATURE: &str =
        "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";
    const NUMBER: &str = "500000000000002";
    const VERIFY: &str = "fixture-verify-token";

    fn post(headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
        WebhookRequest {
            method: "POST".into(),
            path: "/webhooks/wa-demo".into(),
            query: String::new(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn echoes_the_challenge_as_plain_text() {
        let query =
            "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge=1158201444";
        let outcome = verify_subscription(query, VERIFY).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert_eq!(outcome.response.body, b"1158201444");
        assert_eq!(
            http::header(&outcome.response.headers, "content-type"),
            Some("text/plain")
        );
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn refuses_a_wrong_or_missing_verify_token() {
        let wrong = "hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1";
        assert_eq!(
            verify_subscription(wrong, VERIFY).unwrap_err(),
            AdapterError::Unauthorized(
                "`hub.verify_token` does not match the integration's verify_token".into()
            )
        );
        let prefix = "hub.mode=subscribe&hub.verify_token=fixture-verify&hub.challenge=1";
        assert!(matches!(
            verify_subscription(prefix, VERIFY),
            Err(AdapterError::Unauthorized(_))
        ));
        let missing = "hub.mode=subscribe&hub.challenge=1";
        assert!(matches!(
            verify_subscription(missing, VERIFY),
            Err(AdapterError::Unauthorized(_))
        ));
    }

    #[test]
    fn a_get_that_is_no_subscription_is_malformed() {
        for query in [
            "",
            "hub.mode=unsubscribe&hub.verify_token=fixture-verify-token&hub.challenge=1",
        ] {
            assert!(matches!(
                verify_subscription(query, VERIFY),
                Err(AdapterError::Malformed(reason)) if reason.contains("hub.mode=subscribe")
            ));
        }
        let no_challenge = "hub.mode=subscribe&hub.verify_token=fixture-verify-token";
        assert!(matches!(
            verify_subscription(no_challenge, VERIFY),
            Err(AdapterError::Malformed(reason)) if reason.contains("hub.challenge")
        ));
    }

    #[test]
    fn accepts_the_reference_test_vector() {
        let outcome = handle_event(
            &post(&[("X-Hub-Signature-256", BODY_SIGNATURE)], SIGNED_BODY),
            SECRET,
            NUMBER,
        )
        .unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn checks_the_signature_over_the_raw_body() {
        let body = include_bytes!("../fixtures/text.json");
        let signed = signature::sign_hex(SECRET.as_bytes(), body);
        let events = handle_event(&post(&[(SIGNATURE_HEADER, &signed)], body), SECRET, NUMBER)
            .unwrap()
            .events;
        assert!(matches!(events.as_slice(), [InboundEvent::Message(_)]));
    }

    #[test]
    fn refuses_unsigned_and_badly_signed_posts() {
        assert_eq!(
            handle_event(&post(&[], SIGNED_BODY), SECRET, NUMBER).unwrap_err(),
            AdapterError::Unauthorized("the x-hub-signature-256 header is missing".into())
        );
        let tampered = br#"{"object":"whatsapp_business_account","entry":[ ]}"#;
        assert_eq!(
            handle_event(
                &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], tampered),
                SECRET,
                NUMBER
            )
            .unwrap_err(),
            AdapterError::Unauthorized(
                "x-hub-signature-256: the signature does not match the body and secret".into()
            )
        );
        assert!(matches!(
            handle_event(
                &post(&[(SIGNATURE_HEADER, BODY_SIGNATURE)], SIGNED_BODY),
                "other-secret",
                NUMBER
            ),
            Err(AdapterError::Unauthorized(_))
        ));
        assert_eq!(
            handle_event(
                &post(&[(SIGNATURE_HEADER, "sha256=zz")], SIGNED_BODY),
                SECRET,
                NUMBER
            )
            .unwrap_err(),
            AdapterError::Unauthorized(
                "x-hub-signature-256: the signature is not valid hex".into()
            )
        );
    }

    #[test]
    fn a_signed_body_that_is_not_json_is_malformed() {
        let body = b"{\"object\":";
        let signed = signature::sign_hex(SECRET.as_bytes(), body);
        assert!(matches!(
            handle_event(&post(&[(SIGNATURE_HEADER, &signed)], body), SECRET, NUMBER),
            Err(AdapterError::Malformed(reason)) if reason.starts_with("the body is not valid JSON")
        ));
    }

    #[test]
    fn other_methods_are_malformed() {
        assert!(
            matches!(unsupported_method("PUT"), AdapterError::Malformed(r) if r.contains("PUT"))
        );
    }
}
