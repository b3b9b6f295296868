//! The Facebook Messenger and Instagram messaging channel adapter.
//!
//! Both platforms use Meta's webhook rules (a `hub.*` verification GET, `X-Hub-Signature-256`
//! on every event POST) and the same `entry[].messaging[]` envelope, told apart by `object`
//! (`page` for Messenger, `instagram` for Instagram). Replies go through the Send API,
//! `POST {api_base}/{api_version}/me/messages?access_token=…`. Settings of the integration:
//!
//! - `platform` (default `messenger`): `messenger` or `instagram`; which `object` the
//!   integration accepts and which send rules apply.
//! - `verify_token` (required for the verification GET): the token entered in the app dashboard.
//! - `app_secret` (required for event POSTs): the app secret Meta signs every delivery with.
//! - `page_id` (required for event POSTs): the Page id (Messenger) or Instagram professional
//!   account id (Instagram), the `entry[].id` of this integration's deliveries.
//! - `page_access_token` (required for sends): the Page access token.
//! - `api_base` (default `https://graph.facebook.com`) and `api_version` (default
//!   [`DEFAULT_API_VERSION`]): where the Send API lives.
//!
//! The host calls `describe` once per plugin with no integration settings, so it reports
//! Messenger's facts unless `platform` is readable; `encode_send` enforces Instagram's smaller
//! text limit itself.

mod inbound;
mod send;
mod webhook;

use switchboard_sdk::{
    Adapter, AdapterError, AdapterInfo, Capabilities, HttpRequest, HttpResponse, OutboundMessage,
    SendResult, TextUnit, WebhookOutcome, WebhookRequest, log, meta, settings,
};

const DEFAULT_API_BASE: &str = "https://graph.facebook.com";
/// The Graph API version used when the integration names none (the reference leaves the version
/// open; any current one serves `/me/messages` the same way).
const DEFAULT_API_VERSION: &str = "v21.0";

/// Which Meta messaging product an integration serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Messenger,
    Instagram,
}

impl Platform {
    /// The `platform` setting; unset means Messenger.
    pub fn from_setting(value: Option<&str>) -> Result<Self, AdapterError> {
        match value.map(str::trim) {
            None | Some("messenger") => Ok(Platform::Messenger),
            Some("instagram") => Ok(Platform::Instagram),
            Some(other) => Err(AdapterError::Misconfigured(format!(
                "setting `platform` must be `messenger` or `instagram`, not {other:?}"
            ))),
        }
    }

    /// The name `describe` reports.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Messenger => "messenger",
            Platform::Instagram => "instagram",
        }
    }

    /// The webhook envelope's `object` (reference §4.1, §5.1).
    pub fn object(self) -> &'static str {
        match self {
            Platform::Messenger => "page",
            Platform::Instagram => "instagram",
        }
    }

    /// The text limit of one message: Messenger 2,000 characters (§4.2); Instagram's doc says
    /// both "1000 characters" and "1000 bytes", and the reference says to use 1,000 UTF-8 bytes.
    pub fn text_limit(self) -> (u32, TextUnit) {
        match self {
            Platform::Messenger => (2_000, TextUnit::Chars),
            Platform::Instagram => (1_000, TextUnit::Bytes),
        }
    }

    pub fn info(self) -> AdapterInfo {
        let (text_limit, text_unit) = self.text_limit();
        AdapterInfo {
            platform: self.name().into(),
            text_limit,
            text_unit,
            // 24 h standard window; agents may answer with `HUMAN_AGENT` for 7 days (§4.3, §5.2).
            reply_window_hours: Some(24),
            human_agent_window_hours: Some(168),
            capabilities: Capabilities::ATTACHMENTS
                | Capabilities::QUICK_REPLIES
                | Capabilities::RECEIPTS
                | Capabilities::TYPING,
        }
    }
}

fn platform() -> Result<Platform, AdapterError> {
    Platform::from_setting(settings::get("platform").as_deref())
}

struct Facebook;

impl Adapter for Facebook {
    fn describe() -> AdapterInfo {
        let platform = platform().unwrap_or_else(|e| {
            log::error(&format!("{e:?}; describing Messenger"));
            Platform::Messenger
        });
        platform.info()
    }

    fn handle_webhook(req: WebhookRequest) -> Result<WebhookOutcome, AdapterError> {
        let platform = platform()?;
        // The handshake and the signature follow Meta's rules as the WhatsApp adapter does:
        // one behaviour, in `switchboard_sdk::meta`.
        match req.method.as_str() {
            "GET" => {
                meta::verify_subscription(&req.query, settings::get("verify_token").as_deref())
            }
            "POST" => {
                let app_secret = settings::require("app_secret")?;
                let page_id = settings::require("page_id")?;
                webhook::handle_post(&req, platform, &app_secret, &page_id)
            }
            other => Err(meta::unsupported_method(other)),
        }
    }

    fn encode_send(msg: OutboundMessage) -> Result<HttpRequest, AdapterError> {
        send::encode(&msg, &send_api()?)
    }

    fn decode_send_response(message_id: String, resp: HttpResponse) -> SendResult {
        send::decode_response(&message_id, &resp)
    }

    fn encode_typing(customer_id: String) -> Option<HttpRequest> {
        // Typing is a courtesy: a misconfigured integration shows up on the next send instead.
        match send_api().and_then(|api| send::encode_typing(&customer_id, &api)) {
            Ok(request) => Some(request),
            Err(e) => {
                log::warn(&format!("no typing indicator: {e:?}"));
                None
            }
        }
    }
}

/// The Send API endpoint and credentials from the integration's settings.
fn send_api() -> Result<send::Api, AdapterError> {
    Ok(send::Api {
        platform: platform()?,
        api_base: settings::get("api_base").unwrap_or_else(|| DEFAULT_API_BASE.into()),
        api_version: settings::get("api_version").unwrap_or_else(|| DEFAULT_API_VERSION.into()),
        page_access_token: settings::require("page_access_token")?,
    })
}

switchboard_sdk::export_adapter!(Facebook);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_setting() {
        assert_eq!(Platform::from_setting(None), Ok(Platform::Messenger));
        assert_eq!(
            Platform::from_setting(Some("messenger")),
            Ok(Platform::Messenger)
        );
        assert_eq!(
            Platform::from_setting(Some(" instagram ")),
            Ok(Platform::Instagram)
        );
        assert!(matches!(
            Platform::from_setting(Some("whatsapp")),
            Err(AdapterError::Misconfigured(reason)) if reason.contains("whatsapp")
        ));
    }

    #[test]
    fn describes_each_platform() {
        let messenger = Platform::Messenger.info();
        assert_eq!(messenger.platform, "messenger");
        assert_eq!(
            (messenger.text_limit, messenger.text_unit),
            (2_000, TextUnit::Chars)
        );
        assert_eq!(messenger.reply_window_hours, Some(24));
        assert_eq!(messenger.human_agent_window_hours, Some(168));
        assert_eq!(
            messenger.capabilities,
            Capabilities::ATTACHMENTS
                | Capabilities::QUICK_REPLIES
                | Capabilities::RECEIPTS
                | Capabilities::TYPING
        );

        let instagram = Platform::Instagram.info();
        assert_eq!(instagram.platform, "instagram");
        assert_eq!(
            (instagram.text_limit, instagram.text_unit),
            (1_000, TextUnit::Bytes)
        );
        assert_eq!(instagram.reply_window_hours, Some(24));
        assert_eq!(instagram.human_agent_window_hours, Some(168));
        assert_eq!(Platform::Instagram.object(), "instagram");
        assert_eq!(Platform::Messenger.object(), "page");
    }
}
