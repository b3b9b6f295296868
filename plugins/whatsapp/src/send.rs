//! Sending through the Cloud API's messages endpoint and reading its answer (reference §3.4).
//!
//! `POST {api_base}/{api_version}/{phone_number_id}/messages` takes one message per call: free
//! text, a template (the only kind allowed once the 24-hour window has closed), interactive reply
//! buttons (up to 3) or a list (more options), or one media object.

use serde_json::{Map, Value, json};
use switchboard_sdk::{
    AdapterError, Attachment, AttachmentKind, HttpRequest, HttpResponse, OutboundKind,
    OutboundMessage, SendResult, json as sdk_json, meta,
};
/// Reply buttons per interactive message [C].
const MAX_BUTTONS: usize = 3;
/// A reply button's title [S].
const BUTTON_TITLE_CHARS: usize = 20;
/// Rows of an interactive list, a row title and the list's button label [U: Meta's interactive
/// list page, not in the reference].
const MAX_LIST_ROWS: usize = 10;
const ROW_TITLE_CHARS: usize = 24;
const LIST_BUTTON_LABEL: &str = "Options";

/// Where and as whom the send API is called.
#[derive(Debug, Clone)]
pub struct Api {
    pub base: String,
    pub version: String,
    pub phone_number_id: String,
    pub access_token: String,
}

impl Api {
    /// `{api_base}/{api_version}/{phone_number_id}/messages`; the number id comes from the
    /// settings and is spliced into the path, so it must be the numeric id Meta issues.
    fn messages_url(&self) -> Result<String, AdapterError> {
        let id = self.phone_number_id.trim();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AdapterError::Misconfigured(format!(
                "setting `phone_number_id` must be the numeric id of the business number, not {id:?}"
            )));
        }
        Ok(format!(
            "{}/{}/{id}/messages",
            self.base.trim_end_matches('/'),
            self.version.trim_matches('/')
        ))
    }

    fn post(&self, body: &Value) -> Result<HttpRequest, AdapterError> {
        Ok(HttpRequest {
            method: "POST".into(),
            url: self.messages_url()?,
            headers: vec![
                (
                    "authorization".into(),
                    format!("Bearer {}", self.access_token),
                ),
                ("content-type".into(), "application/json".into()),
            ],
            body: sdk_json::to_body(body)?,
        })
    }
}

/// The request that sends `msg` from the business number.
pub fn encode(msg: &OutboundMessage, api: &Api) -> Result<HttpRequest, AdapterError> {
    if msg.customer_id.trim().is_empty() {
        return Err(malformed("the WhatsApp customer id (wa_id) is empty"));
    }
    if msg.kind == OutboundKind::PublicReply {
        return Err(malformed("WhatsApp has no public posts to reply to"));
    }
    let text = msg.text.as_deref().filter(|text| !text.is_empty());

    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    body.insert("to".into(), json!(msg.customer_id));
    if let Some(reply_to) = msg.in_reply_to.as_deref().filter(|id| !id.is_empty()) {
        body.insert("context".into(), json!({ "message_id": reply_to }));
    }

    let (kind, content) = if let Some(template) = &msg.template {
        let mut template_body = json!({
            "name": template.name,
            "language": { "code": template.language },
        });
        if !template.parameters.is_empty() {
            let parameters: Vec<Value> = template
                .parameters
                .iter()
                .map(|text| json!({ "type": "text", "text": text }))
                .collect();
            template_body["components"] = json!([{ "type": "body", "parameters": parameters }]);
        }
        ("template", template_body)
    } else if !msg.quick_replies.is_empty() {
        ("interactive", interactive(msg, text)?)
    } else if let Some(attachment) = single_attachment(&msg.attachments)? {
        media_message(attachment, text)?
    } else if let Some(text) = text {
        ("text", json!({ "body": text, "preview_url": false }))
    } else {
        return Err(malformed(
            "a WhatsApp message needs text, a template, quick replies or an attachment",
        ));
    };
    body.insert("type".into(), json!(kind));
    body.insert(kind.into(), content);
    api.post(&Value::Object(body))
}

/// The request that marks the customer's message `message_id` read (the blue ticks).
pub fn encode_mark_read(message_id: &str, api: &Api) -> Result<HttpRequest, AdapterError> {
    api.post(&json!({
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": message_id,
    }))
}

/// Reply buttons for up to three quick replies, a list for more.
fn interactive(msg: &OutboundMessage, text: Option<&str>) -> Result<Value, AdapterError> {
    let text = text.ok_or_else(|| {
        malformed("WhatsApp quick replies (interactive messages) need a text body")
    })?;
    let replies = &msg.quick_replies;
    if replies.len() <= MAX_BUTTONS {
        let buttons: Vec<Value> = replies
            .iter()
            .map(|reply| {
                json!({
                    "type": "reply",
                    "reply": { "id": reply.payload, "title": truncate(&reply.label, BUTTON_TITLE_CHARS) },
                })
            })
            .collect();
        let mut interactive = json!({
            "type": "button",
            "body": { "text": text },
            "action": { "buttons": buttons },
        });
        // Reply buttons may show one image, video or document above the text.
        if let Some(attachment) = single_attachment(&msg.attachments)? {
            let (kind, media) = media_message(attachment, None)?;
            if kind == "audio" {
                return Err(malformed("WhatsApp reply buttons cannot carry audio"));
            }
            let mut header = json!({ "type": kind });
            header[kind] = media;
            interactive["header"] = header;
        }
        return Ok(interactive);
    }
    if !msg.attachments.is_empty() {
        return Err(malformed(
            "a WhatsApp list message (more than 3 quick replies) cannot carry an attachment",
        ));
    }
    if replies.len() > MAX_LIST_ROWS {
        return Err(malformed(&format!(
            "WhatsApp lists hold at most {MAX_LIST_ROWS} options, not {}",
            replies.len()
        )));
    }
    let rows: Vec<Value> = replies
        .iter()
        .map(|reply| json!({ "id": reply.payload, "title": truncate(&reply.label, ROW_TITLE_CHARS) }))
        .collect();
    Ok(json!({
        "type": "list",
        "body": { "text": text },
        "action": { "button": LIST_BUTTON_LABEL, "sections": [{ "rows": rows }] },
    }))
}

fn single_attachment(attachments: &[Attachment]) -> Result<Option<&Attachment>, AdapterError> {
    match attachments {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        more => Err(malformed(&format!(
            "WhatsApp sends one media per message, not {}",
            more.len()
        ))),
    }
}

/// `{"type": "image", "image": {"id" | "link", "caption"}}` and its kin; the message text becomes
/// the caption when the attachment has none.
fn media_message(
    attachment: &Attachment,
    text: Option<&str>,
) -> Result<(&'static str, Value), AdapterError> {
    let kind = match attachment.kind {
        AttachmentKind::Image => "image",
        AttachmentKind::Video => "video",
        AttachmentKind::Audio => "audio",
        AttachmentKind::File | AttachmentKind::Other => "document",
        AttachmentKind::Location | AttachmentKind::Link => {
            return Err(malformed(&format!(
                "WhatsApp cannot send a {:?} attachment as media",
                attachment.kind
            )));
        }
    };
    let mut media = Map::new();
    match (attachment.media_id.as_deref(), attachment.url.as_deref()) {
        (Some(id), _) if !id.is_empty() => media.insert("id".into(), json!(id)),
        (_, Some(url)) if !url.is_empty() => media.insert("link".into(), json!(url)),
        _ => {
            return Err(malformed(
                "a WhatsApp media message needs the attachment's media_id or url",
            ));
        }
    };
    let caption = attachment
        .caption
        .as_deref()
        .filter(|c| !c.is_empty())
        .or(text);
    if let Some(caption) = caption {
        if kind == "audio" {
            return Err(malformed(
                "WhatsApp audio messages carry no caption or text; send the text separately",
            ));
        }
        media.insert("caption".into(), json!(caption));
    }
    if kind == "document"
        && let Some(filename) = attachment.filename.as_deref().filter(|f| !f.is_empty())
    {
        media.insert("filename".into(), json!(filename));
    }
    Ok((kind, Value::Object(media)))
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

fn malformed(reason: &str) -> AdapterError {
    AdapterError::Malformed(reason.to_owned())
}

/// The Cloud API as a Graph product: where an accepted send's `wamid` is, and the error codes
/// only WhatsApp uses (reference §3.4); the codes every Graph API shares (190, 4, 613, 1, 2) and
/// the HTTP statuses are mapped in [`meta::Product::failure`], as for Messenger and Instagram.
const CLOUD_API: meta::Product = meta::Product {
    name: "WhatsApp",
    message_id_at: "/messages/0/id",
    codes: cloud_api_codes,
};

fn cloud_api_codes(error: &meta::GraphError) -> Option<meta::FailureKind> {
    use meta::FailureKind::*;
    Some(match error.code? {
        // The 24-hour customer-service window is closed (470: the legacy code).
        131_047 | 470 => WindowClosed,
        // The number's throughput, the pair rate (one customer) and the WhatsApp Business
        // Management API's own limit.
        130_429 | 131_056 | 80_007 => RateLimited,
        // Not a WhatsApp user, an old client, or terms not accepted.
        131_026 => RecipientUnreachable,
        // "Something went wrong", "Service unavailable".
        131_000 | 131_016 => Transient,
        _ => return None,
    })
}

/// Read the Cloud API's answer to the send of Switchboard message `message_id`.
pub fn decode_response(message_id: &str, resp: &HttpResponse) -> SendResult {
    CLOUD_API.decode_send_response(message_id, resp)
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing::{self, attachment, outbound_message, response};
    use switchboard_sdk::{QuickReply, RateLimit, SendFailure, TemplateMessage, http, time};

    use super::*;

    fn api() -> Api {
        Api {
            base: "https://graph.example.invalid/".into(),
            version: "v23.0".into(),
            phone_number_id: "500000000000002".into(),
            access_token: "fixture-wa-token".into(),
        }
    }

    fn message(text: Option<&str>) -> OutboundMessage {
        outbound_message("4915112345678", text)
    }

    fn body(msg: &OutboundMessage) -> Value {
        serde_json::from_slice(&encode(msg, &api()).unwrap().body).unwrap()
    }

    fn refusal(msg: &OutboundMessage) -> String {
        testing::malformed(encode(msg, &api()))
    }

    fn replies(n: usize) -> Vec<QuickReply> {
        (1..=n)
            .map(|i| QuickReply {
                label: format!("Option {i} with a rather long label"),
                payload: format!("opt_{i}"),
            })
            .collect()
    }

    fn media(kind: AttachmentKind, media_id: Option<&str>, url: Option<&str>) -> Attachment {
        attachment(kind, url, media_id)
    }

    fn graph_error(status: u16, code: i64, message: &str) -> SendResult {
        decode_response(
            "sb-msg-0001",
            &testing::graph_error(status, code, None, message),
        )
    }

    #[test]
    fn encodes_a_text_reply_as_the_reference_shows() {
        let mut msg = message(Some("Ihr Paket ist unterwegs."));
        msg.in_reply_to = Some("wamid.FIXTURE-IN-0001".into());
        let req = encode(&msg, &api()).unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "https://graph.example.invalid/v23.0/500000000000002/messages"
        );
        assert_eq!(
            http::header(&req.headers, "authorization"),
            Some("Bearer fixture-wa-token")
        );
        assert_eq!(
            http::header(&req.headers, "content-type"),
            Some("application/json")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&req.body).unwrap(),
            json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678",
                    "type": "text", "text": { "body": "Ihr Paket ist unterwegs.", "preview_url": false },
                    "context": { "message_id": "wamid.FIXTURE-IN-0001" } })
        );
    }

    #[test]
    fn encodes_templates_with_body_parameters() {
        let mut msg = message(Some("ignored free text"));
        msg.template = Some(TemplateMessage {
            name: "case_followup_v2".into(),
            language: "de".into(),
            parameters: vec!["Jonas".into(), "88-431".into()],
        });
        msg.quick_replies = replies(2);
        assert_eq!(
            body(&msg),
            json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678",
                    "type": "template", "template": {
                        "name": "case_followup_v2", "language": { "code": "de" },
                        "components": [ { "type": "body", "parameters": [
                            { "type": "text", "text": "Jonas" }, { "type": "text", "text": "88-431" } ] } ] } })
        );
        msg.template.as_mut().unwrap().parameters.clear();
        assert_eq!(
            body(&msg)["template"],
            json!({ "name": "case_followup_v2", "language": { "code": "de" } })
        );
    }

    #[test]
    fn up_to_three_quick_replies_are_reply_buttons() {
        let mut msg = message(Some("Was möchten Sie tun?"));
        msg.quick_replies = vec![
            QuickReply {
                label: "Talk to agent".into(),
                payload: "btn_talk_to_agent".into(),
            },
            QuickReply {
                label: "Track parcel".into(),
                payload: "btn_track".into(),
            },
        ];
        assert_eq!(
            body(&msg),
            json!({ "messaging_product": "whatsapp", "recipient_type": "individual", "to": "4915112345678", "type": "interactive",
                    "interactive": { "type": "button", "body": { "text": "Was möchten Sie tun?" },
                        "action": { "buttons": [ { "type": "reply", "reply": { "id": "btn_talk_to_agent", "title": "Talk to agent" } },
                                                 { "type": "reply", "reply": { "id": "btn_track", "title": "Track parcel" } } ] } } })
        );
        msg.quick_replies = replies(3);
        let buttons = body(&msg)["interactive"]["action"]["buttons"].clone();
        assert_eq!(buttons.as_array().unwrap().len(), 3);
        assert_eq!(buttons[2]["reply"]["title"], "Option 3 with a rath");
        assert_eq!(
            buttons[2]["reply"]["title"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            20
        );
        assert_eq!(buttons[2]["reply"]["id"], "opt_3");
    }

    #[test]
    fn reply_buttons_can_show_a_media_header() {
        let mut msg = message(Some("Is this your parcel?"));
        msg.quick_replies = replies(2);
        msg.attachments = vec![media(AttachmentKind::Image, Some("900000000000021"), None)];
        assert_eq!(
            body(&msg)["interactive"]["header"],
            json!({ "type": "image", "image": { "id": "900000000000021" } })
        );
        msg.attachments = vec![media(AttachmentKind::Audio, Some("1"), None)];
        assert!(refusal(&msg).contains("audio"));
    }

    #[test]
    fn more_quick_replies_are_a_list() {
        let mut msg = message(Some("Pick a topic"));
        msg.quick_replies = replies(4);
        msg.in_reply_to = Some("wamid.FIXTURE-IN-0001".into());
        let body = body(&msg);
        assert_eq!(body["type"], "interactive");
        assert_eq!(body["context"]["message_id"], "wamid.FIXTURE-IN-0001");
        let interactive = &body["interactive"];
        assert_eq!(interactive["type"], "list");
        assert_eq!(interactive["body"]["text"], "Pick a topic");
        assert_eq!(interactive["action"]["button"], "Options");
        let rows = interactive["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            json!({ "id": "opt_1", "title": "Option 1 with a rather l" })
        );

        msg.quick_replies = replies(11);
        assert_eq!(
            refusal(&msg),
            "WhatsApp lists hold at most 10 options, not 11"
        );
        msg.quick_replies = replies(4);
        msg.attachments = vec![media(AttachmentKind::Image, Some("1"), None)];
        assert!(refusal(&msg).contains("cannot carry an attachment"));
        let mut no_text = message(None);
        no_text.quick_replies = replies(2);
        assert!(refusal(&no_text).contains("need a text body"));
    }

    #[test]
    fn attachments_become_media_messages() {
        let mut msg = message(Some("the label"));
        msg.attachments = vec![media(
            AttachmentKind::Image,
            Some("900000000000021"),
            Some("https://x.invalid/a.png"),
        )];
        let body = body(&msg);
        assert_eq!(body["type"], "image");
        assert_eq!(
            body["image"],
            json!({ "id": "900000000000021", "caption": "the label" })
        );
        assert!(body.get("text").is_none());

        let mut doc = media(
            AttachmentKind::File,
            None,
            Some("https://files.example.invalid/invoice.pdf"),
        );
        doc.filename = Some("invoice-2291.pdf".into());
        doc.caption = Some("your invoice".into());
        let mut msg = message(None);
        msg.attachments = vec![doc];
        let body = self::body(&msg);
        assert_eq!(body["type"], "document");
        assert_eq!(
            body["document"],
            json!({ "link": "https://files.example.invalid/invoice.pdf", "caption": "your invoice", "filename": "invoice-2291.pdf" })
        );

        msg.attachments = vec![media(AttachmentKind::Video, Some("7"), None)];
        assert_eq!(self::body(&msg)["video"], json!({ "id": "7" }));
        msg.attachments = vec![media(AttachmentKind::Audio, Some("8"), None)];
        assert_eq!(self::body(&msg)["audio"], json!({ "id": "8" }));
        msg.text = Some("listen".into());
        assert!(refusal(&msg).contains("audio"));
    }

    #[test]
    fn refuses_what_whatsapp_cannot_carry() {
        assert_eq!(
            refusal(&message(None)),
            "a WhatsApp message needs text, a template, quick replies or an attachment"
        );
        assert!(refusal(&message(Some(""))).contains("needs text"));
        let mut msg = message(Some("hi"));
        msg.attachments = vec![media(AttachmentKind::Image, None, None)];
        assert!(refusal(&msg).contains("media_id or url"));
        msg.attachments = vec![
            media(AttachmentKind::Image, Some("1"), None),
            media(AttachmentKind::Image, Some("2"), None),
        ];
        assert_eq!(refusal(&msg), "WhatsApp sends one media per message, not 2");
        msg.attachments = vec![media(AttachmentKind::Location, None, Some("geo:1,2"))];
        assert!(refusal(&msg).contains("Location"));
        let mut public = message(Some("hi"));
        public.kind = OutboundKind::PublicReply;
        assert!(refusal(&public).contains("public"));
        let mut nobody = message(Some("hi"));
        nobody.customer_id = " ".into();
        assert!(refusal(&nobody).contains("customer id"));
    }

    #[test]
    fn a_bad_phone_number_id_is_misconfigured() {
        let mut api = api();
        api.phone_number_id = "../me".into();
        assert!(matches!(
            encode(&message(Some("hi")), &api),
            Err(AdapterError::Misconfigured(reason)) if reason.contains("phone_number_id")
        ));
    }

    #[test]
    fn marks_messages_read() {
        let req = encode_mark_read("wamid.FIXTURE-IN-0001", &api()).unwrap();
        assert_eq!(
            req.url,
            "https://graph.example.invalid/v23.0/500000000000002/messages"
        );
        assert_eq!(
            http::header(&req.headers, "authorization"),
            Some("Bearer fixture-wa-token")
        );
        assert_eq!(
            serde_json::from_slice::<Value>(&req.body).unwrap(),
            json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.FIXTURE-IN-0001"})
        );
    }

    #[test]
    fn accepted_sends_give_the_wamid() {
        let ok = r#"{"messaging_product":"whatsapp","contacts":[{"input":"4915112345678","wa_id":"4915112345678"}],"messages":[{"id":"wamid.FIXTURE-OUT-0001","message_status":"accepted"}]}"#;
        assert_eq!(
            decode_response("sb-msg-0001", &response(200, &[], ok)),
            SendResult::Sent("wamid.FIXTURE-OUT-0001".into())
        );
        assert_eq!(
            decode_response("sb-msg-0001", &response(200, &[], "{}")),
            SendResult::Sent("sb-msg-0001".into())
        );
    }

    #[test]
    fn error_codes_map_to_failures() {
        assert_eq!(
            graph_error(400, 131_047, "Re-engagement message"),
            SendResult::Failed(SendFailure::WindowClosed(
                "WhatsApp answered HTTP 400: Re-engagement message (code 131047, fbtrace_id \
                 AFixtureTrace02)"
                    .into()
            ))
        );
        for (status, code) in [(429, 130_429), (429, 131_056), (400, 80_007), (429, 4)] {
            assert!(
                matches!(
                    graph_error(status, code, "limit"),
                    SendResult::Failed(SendFailure::RateLimited(_))
                ),
                "{code}"
            );
        }
        assert_eq!(
            graph_error(401, 190, "Error validating access token"),
            SendResult::Failed(SendFailure::Auth(
                "WhatsApp answered HTTP 401: Error validating access token (code 190, fbtrace_id \
                 AFixtureTrace02)"
                    .into()
            ))
        );
        assert!(matches!(
            graph_error(403, 200, "Permissions error"),
            SendResult::Failed(SendFailure::Auth(_))
        ));
        assert!(matches!(
            graph_error(400, 131_026, "Message undeliverable"),
            SendResult::Failed(SendFailure::RecipientUnreachable(_))
        ));
        for (status, code) in [
            (500, 131_000),
            (503, 131_016),
            (500, 1),
            (503, 2),
            (502, 999),
        ] {
            assert!(
                matches!(
                    graph_error(status, code, "Something went wrong"),
                    SendResult::Failed(SendFailure::Transient(_))
                ),
                "{code}"
            );
        }
        for code in [100, 131_051, 132_000, 132_001, 131_049] {
            assert!(
                matches!(
                    graph_error(400, code, "bad"),
                    SendResult::Failed(SendFailure::Permanent(_))
                ),
                "{code}"
            );
        }
    }

    #[test]
    fn rate_limits_and_odd_bodies() {
        let throughput = r#"{ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
             "error_subcode": 2494055, "error_data": { "messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached." },
             "fbtrace_id": "AFixtureTraceId01" } }"#;
        let SendResult::Failed(SendFailure::RateLimited(limit)) =
            decode_response("m", &response(429, &[("Retry-After", "30")], throughput))
        else {
            panic!("expected a rate limit");
        };
        assert!(limit.retry_at_ms.unwrap() > time::now_ms());
        assert_eq!(
            limit.detail,
            "WhatsApp answered HTTP 429: (#130429) Rate limit hit: Cloud API message throughput has \
             been reached. (code 130429, subcode 2494055, fbtrace_id AFixtureTraceId01)"
        );
        assert_eq!(
            decode_response("m", &response(429, &[], "")),
            SendResult::Failed(SendFailure::RateLimited(RateLimit {
                retry_at_ms: None,
                detail: "WhatsApp answered HTTP 429: no body".into()
            }))
        );
        assert_eq!(
            decode_response("m", &response(502, &[], "<html>Bad Gateway</html>")),
            SendResult::Failed(SendFailure::Transient(
                "WhatsApp answered HTTP 502: <html>Bad Gateway</html>".into()
            ))
        );
        assert!(matches!(
            decode_response("m", &response(404, &[], "{}")),
            SendResult::Failed(SendFailure::Permanent(_))
        ));
    }
}
