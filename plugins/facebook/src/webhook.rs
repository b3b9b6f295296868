//! Event deliveries (POST): the signature checked over the raw body, then the body decoded for
//! the integration's platform (reference §2.2, §4.1, §5.1). The verification GET and the
//! signature rules are Meta's, shared with the WhatsApp adapter in [`switchboard_sdk::meta`].

use switchboard_sdk::{AdapterError, WebhookOutcome, WebhookRequest, http, meta};

use crate::{Platform, inbound};

/// A signed event delivery: nothing reads the body before its signature passed.
pub fn handle_post(
    req: &WebhookRequest,
    platform: Platform,
    app_secret: &str,
    page_id: &str,
) -> Result<WebhookOutcome, AdapterError> {
    meta::verify_signature(req, app_secret)?;
    Ok(WebhookOutcome {
        response: http::empty_response(200),
        events: inbound::decode(&req.body, platform, page_id)?,
    })
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing::{self, Signing, webhook_request};
    use switchboard_sdk::{InboundEvent, MessageKind};

    use super::*;

    const SECRET: &str = "fixture-app-secret";
    const PAGE: &str = "600000000000003";

    #[test]
    fn reference_signature_vector_is_accepted() {
        // §2.2's test vector; its object is WhatsApp's, so it is malformed for this adapter,
        // but only after the signature passed.
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let signed = "sha256=3c6c17aef3404f821546994a328dee7d0548411e3bb0476f74c11590cf5ba52a";
        let req = webhook_request("POST", "", &[("X-Hub-Signature-256", signed)], body);
        assert!(
            testing::malformed(handle_post(&req, Platform::Messenger, SECRET, PAGE))
                .contains("whatsapp_business_account")
        );
        assert!(
            testing::unauthorized(handle_post(
                &req,
                Platform::Messenger,
                "another-secret",
                PAGE
            ))
            .contains("does not match")
        );
    }

    #[test]
    fn decodes_a_signed_post() {
        let body = include_bytes!("../fixtures/messenger-message-text.json");
        let outcome = handle_post(
            &Signing::Meta.post(SECRET, body),
            Platform::Messenger,
            SECRET,
            PAGE,
        )
        .unwrap();
        assert_eq!(outcome.response.status, 200);
        assert_eq!(
            testing::only_message(outcome.events).kind,
            MessageKind::Direct
        );
    }

    #[test]
    fn the_signature_is_checked_before_the_body_is_read() {
        let body = include_bytes!("../fixtures/instagram-message-text.json");
        let unsigned = webhook_request("POST", "", &[], body);
        assert_eq!(
            testing::unauthorized(handle_post(&unsigned, Platform::Instagram, SECRET, PAGE)),
            "the x-hub-signature-256 header is missing"
        );
        // Signed, it reaches the decoder, which finds it is not this Page's.
        let signed = Signing::Meta.post(SECRET, body);
        assert!(matches!(
            handle_post(&signed, Platform::Messenger, SECRET, PAGE),
            Err(AdapterError::Malformed(_))
        ));
        let events = handle_post(&signed, Platform::Instagram, SECRET, "17841400000000005")
            .unwrap()
            .events;
        assert!(matches!(events.as_slice(), [InboundEvent::Message(_)]));
    }
}
