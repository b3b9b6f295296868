//! The WhatsApp Cloud API channel adapter.
//!
//! Meta delivers a business number's inbound messages and the statuses of its outbound ones by
//! webhook (`object: "whatsapp_business_account"`, reference §3.1), signed with the app secret in
//! `X-Hub-Signature-256` (hex, §2.2), after a `GET ?hub.mode=subscribe` handshake (§2.1). Replies
//! go through `POST {api_base}/{api_version}/{phone_number_id}/messages` (§3.4). Settings of the
//! integration:
//!
//! - `verify_token` (required for the handshake): the token typed into the app dashboard.
//! - `app_secret` (required for events): the app's secret; Meta signs every event POST with it.
//! - `phone_number_id` (required): the business number's id; webhooks for other numbers of the
//!   same app are ignored, and sends go out from it.
//! - `access_token` (required for sends): a system-user or business token with
//!   `whatsapp_business_messaging`.
//! - `api_base` (default `https://graph.facebook.com`) and `api_version` (default
//!   [`DEFAULT_API_VERSION`]): where the send API lives.

mod inbound;
mod send;
mod webhook;

use switchboard_sdk::{
    Adapter, AdapterError, AdapterInfo, Capabilities, HttpRequest, HttpResponse, OutboundMessage,
    SendResult, TextUnit, WebhookOutcome, WebhookRequest, log, meta, settings,
};

const DEFAULT_API_BASE: &str = "https://graph.facebook.com";
/// The reference writes `{api-version}` without naming one; this is a Graph API version that is
/// current at the time of writing. Set `api_version` to pin another.
const DEFAULT_API_VERSION: &str = "v23.0";

/// `text.body` may hold up to 4,096 characters (reference §3.5).
pub(crate) const TEXT_LIMIT: u32 = 4096;

struct WhatsApp;

impl Adapter for WhatsApp {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            platform: "whatsapp".into(),
            text_limit: TEXT_LIMIT,
            text_unit: TextUnit::Chars,
            // The customer-service window; after it only templates may be sent (§3.5).
            reply_window_hours: Some(24),
            human_agent_window_hours: None,
            capabilities: Capabilities::ATTACHMENTS
                | Capabilities::QUICK_REPLIES
                | Capabilities::RECEIPTS
                | Capabilities::TEMPLATES,
        }
    }

    fn handle_webhook(req: WebhookRequest) -> Result<WebhookOutcome, AdapterError> {
        // The handshake and the signature follow Meta's rules as the Messenger and Instagram
        // adapter does: one behaviour, in `switchboard_sdk::meta`.
        match req.method.as_str() {
            "GET" => {
                meta::verify_subscription(&req.query, settings::get("verify_token").as_deref())
            }
            "POST" => {
                let app_secret = settings::require("app_secret")?;
                let phone_number_id = settings::require("phone_number_id")?;
                webhook::handle_event(&req, &app_secret, &phone_number_id)
            }
            other => Err(meta::unsupported_method(other)),
        }
    }

    fn encode_send(msg: OutboundMessage) -> Result<HttpRequest, AdapterError> {
        send::encode(&msg, &api_settings()?)
    }

    fn decode_send_response(message_id: String, resp: HttpResponse) -> SendResult {
        send::decode_response(&message_id, &resp)
    }

    fn encode_mark_read(customer_id: String, message_id: String) -> Option<HttpRequest> {
        let _ = customer_id; // the message id alone names the message to WhatsApp
        match api_settings().and_then(|api| send::encode_mark_read(&message_id, &api)) {
            Ok(request) => Some(request),
            Err(e) => {
                log::error(&format!(
                    "cannot mark WhatsApp message {message_id} read: {e:?}"
                ));
                None
            }
        }
    }
}

/// The settings every send API call needs.
fn api_settings() -> Result<send::Api, AdapterError> {
    Ok(send::Api {
        base: settings::get("api_base").unwrap_or_else(|| DEFAULT_API_BASE.into()),
        version: settings::get("api_version").unwrap_or_else(|| DEFAULT_API_VERSION.into()),
        phone_number_id: settings::require("phone_number_id")?,
        access_token: settings::require("access_token")?,
    })
}

switchboard_sdk::export_adapter!(WhatsApp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_the_platform() {
        let info = WhatsApp::describe();
        assert_eq!(info.platform, "whatsapp");
        assert_eq!((info.text_limit, info.text_unit), (4096, TextUnit::Chars));
        assert_eq!(info.reply_window_hours, Some(24));
        assert_eq!(info.human_agent_window_hours, None);
        assert_eq!(
            info.capabilities,
            Capabilities::ATTACHMENTS
                | Capabilities::QUICK_REPLIES
                | Capabilities::RECEIPTS
                | Capabilities::TEMPLATES
        );
    }
}
