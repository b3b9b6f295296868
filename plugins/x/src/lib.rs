//! The X (Twitter) channel adapter: direct messages, mentions and likes.
//!
//! X delivers DMs, typing indicators and read markers by webhook, either in the Account
//! Activity API (AAA) envelope or the X Activity API (XAA) one; the AAA envelope also carries the
//! posts that mention the account (inbound kind `mention`) and likes of its posts (kind `like`).
//! Replies go through the v2 `dm_conversations` API, or as a public reply post (`POST /2/tweets`)
//! when the outbound message's kind is `public-reply`. Settings of the integration:
//!
//! - `consumer_secret` (required): the app's API secret; it signs the CRC answer and X signs
//!   every event POST with it.
//! - `account_id` (required): the business account's X user id, to drop its own messages (echoes)
//!   and tell which posts mention it.
//! - `access_token` (required for sends): a user-context token of the business account with
//!   `dm.write` (and `tweet.write` for public replies); X refuses app-only tokens for DMs.
//! - `api_base` (default `https://api.x.com`): where the send API lives.

mod inbound;
mod posts;
mod send;
mod webhook;

use switchboard_sdk::{
    Adapter, AdapterError, AdapterInfo, Capabilities, HttpRequest, HttpResponse, OutboundMessage,
    SendResult, TextUnit, WebhookOutcome, WebhookRequest, settings,
};

const DEFAULT_API_BASE: &str = "https://api.x.com";

struct X;

impl Adapter for X {
    fn describe() -> AdapterInfo {
        AdapterInfo {
            platform: "x".into(),
            text_limit: 10_000,
            text_unit: TextUnit::Chars,
            // The DM limit; a public reply (a post) holds 280 and `encode_send` refuses longer ones.
            // v2 DMs have no customer-service window (v1.1's 5-replies-in-24h rule is gone).
            reply_window_hours: None,
            human_agent_window_hours: None,
            // No quick replies: the v2 send body allows only `text` and `attachments`.
            capabilities: Capabilities::ATTACHMENTS | Capabilities::RECEIPTS | Capabilities::TYPING,
        }
    }

    fn handle_webhook(req: WebhookRequest) -> Result<WebhookOutcome, AdapterError> {
        let consumer_secret = settings::require("consumer_secret")?;
        let account_id = settings::require("account_id")?;
        webhook::handle(&req, &consumer_secret, &account_id)
    }

    fn encode_send(msg: OutboundMessage) -> Result<HttpRequest, AdapterError> {
        let access_token = settings::require("access_token")?;
        let api_base = settings::get("api_base").unwrap_or_else(|| DEFAULT_API_BASE.into());
        send::encode(&msg, &api_base, &access_token)
    }

    fn decode_send_response(message_id: String, resp: HttpResponse) -> SendResult {
        send::decode_response(&message_id, &resp)
    }
}

switchboard_sdk::export_adapter!(X);
