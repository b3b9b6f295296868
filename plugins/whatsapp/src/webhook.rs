//! Event deliveries (POST): the signature checked over the raw body, then the body decoded
//! (reference §2.2, §3.1). The verification GET and the signature rules are Meta's, shared with
//! the Messenger and Instagram adapter in [`switchboard_sdk::meta`].

use switchboard_sdk::{AdapterError, WebhookOutcome, WebhookRequest, http, meta};

use crate::inbound;

/// A signed event delivery: nothing reads the body before its signature passed.
pub fn handle_event(
    req: &WebhookRequest,
    app_secret: &str,
    phone_number_id: &str,
) -> Result<WebhookOutcome, AdapterError> {
    meta::verify_signature(req, app_secret)?;
    Ok(WebhookOutcome {
        response: http::empty_response(200),
        events: inbound::decode(&req.body, phone_number_id)?,
    })
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::InboundEvent;
    use switchboard_sdk::testing::{self, Signing, webhook_request};

    use super::*;

    // The reference's Meta test vector (§2.2).
    const SECRET: &str = "fixture-app-secret";
    const SIGNED_BODY: &[u8] = br#"{"object":"whatsapp_business_account","entry":[]}"#;
    const BODY_SIGNATURE: &str =
        "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";
    const NUMBER: &str = "500000000000002";

    #[test]
    fn accepts_the_reference_test_vector() {
        let req = webhook_request(
            "POST",
            "",
            &[("X-Hub-Signature-256", BODY_SIGNATURE)],
            SIGNED_BODY,
        );
        let outcome = handle_event(&req, SECRET, NUMBER).unwrap();
        assert_eq!(outcome.response.status, 200);
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn decodes_a_signed_delivery() {
        let req = Signing::Meta.post(SECRET, include_bytes!("../fixtures/text.json"));
        let events = handle_event(&req, SECRET, NUMBER).unwrap().events;
        assert!(matches!(events.as_slice(), [InboundEvent::Message(_)]));
    }

    #[test]
    fn the_signature_is_checked_before_the_body_is_read() {
        let body = b"{\"object\":";
        let unsigned = webhook_request("POST", "", &[], body);
        assert_eq!(
            testing::unauthorized(handle_event(&unsigned, SECRET, NUMBER)),
            "the x-hub-signature-256 header is missing"
        );
        let wrong_key = Signing::Meta.post("other-secret", body);
        assert!(
            testing::unauthorized(handle_event(&wrong_key, SECRET, NUMBER))
                .contains("does not match")
        );
        let signed = Signing::Meta.post(SECRET, body);
        assert!(
            testing::malformed(handle_event(&signed, SECRET, NUMBER))
                .starts_with("the body is not valid JSON")
        );
    }
}
