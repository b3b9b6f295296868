//! The Open Messaging channel adapter, modelled on Genesys Cloud Open Messaging.
//!
//! Switchboard plays the contact-center side: a partner's middleware POSTs customer messages,
//! delivery receipts and typing events to the integration's webhook in the Open Messaging
//! normalized format, and Switchboard POSTs agent and bot replies to the middleware's webhook as
//! "Outbound Open NormalizedMessage" bodies. Both directions are signed with
//! `X-Hub-Signature-256: sha256=<base64 HMAC-SHA256(secret, body)>`; there is no handshake.
//! Settings of the integration:
//!
//! - `secret` (required): the shared signature secret (Genesys calls it
//!   `outboundNotificationWebhookSignatureSecretToken`).
//! - `webhook_url` (required for sends): where the middleware takes outbound messages.
//! - `inbound_token` (optional): a bearer token the middleware may present
//!   (`Authorization: Bearer …`) instead of signing its POSTs, as middleware written for Genesys
//!   authenticates its inbound calls.

mod inbound;
mod send;
mod webhook;

use switchboard_sdk::{
    Adapter, AdapterError, AdapterInfo, Capabilities, HttpRequest, HttpResponse, OutboundMessage,
    SendResult, TextUnit, WebhookOutcome, WebhookRequest, settings, time,
};

struct OpenMessaging;

impl Adapter for OpenMessaging {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            platform: "open-messaging".into(),
            // Open Messaging documents no limit of its own (the far-end channel's applies).
            text_limit: 10_000,
            text_unit: TextUnit::Chars,
            reply_window_hours: None,
            human_agent_window_hours: None,
            // No quick replies: the outbound format carries only `text` and `content[]`
            // attachments, so the host renders the options into the text.
            capabilities: Capabilities::ATTACHMENTS
                | Capabilities::QUICK_REPLIES
                | Capabilities::RECEIPTS
                | Capabilities::TYPING,
        }
    }

    fn handle_webhook(req: WebhookRequest) -> Result<WebhookOutcome, AdapterError> {
        let secret = settings::require("secret")?;
        let inbound_token = settings::get("inbound_token");
        webhook::handle(&req, &secret, inbound_token.as_deref())
    }

    fn encode_send(msg: OutboundMessage) -> Result<HttpRequest, AdapterError> {
        let secret = settings::require("secret")?;
        let webhook_url = settings::require("webhook_url")?;
        let channel = send::Channel {
            webhook_url: &webhook_url,
            secret: &secret,
            integration_id: &settings::integration_id(),
        };
        send::encode(&msg, &channel, time::now_ms())
    }

    fn decode_send_response(message_id: String, resp: HttpResponse) -> SendResult {
        send::decode_response(&message_id, &resp, time::now_ms())
    }
}

switchboard_sdk::export_adapter!(OpenMessaging);
