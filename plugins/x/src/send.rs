//! Sending through the v2 API and reading X's answer.
//!
//! - A direct message (`kind: direct`): `POST {api_base}/2/dm_conversations/with/{participant_id}/messages`
//!   creates the one-to-one conversation if needed. Its body allows only `text` (1 to 10,000
//!   characters) and one `attachments[].media_id` (`additionalProperties: false`), so quick replies
//!   cannot travel in it: the adapter does not claim that capability and the host renders them
//!   into the text. X answers 201 `{data: {dm_conversation_id, dm_event_id}}`.
//! - A public reply to a mention (`kind: public-reply`): `POST {api_base}/2/tweets` with
//!   `{"text", "reply": {"in_reply_to_tweet_id"}}` (and `media.media_ids` for up to four uploaded
//!   media), answered 201 `{data: {id, text}}`. A post holds at most 280 characters, far below the
//!   DM limit the adapter declares, so longer replies are refused here rather than by X.

use serde_json::{Value, json};
use switchboard_sdk::{
    AdapterError, HttpRequest, HttpResponse, OutboundKind, OutboundMessage, RateLimit, SendFailure,
    SendResult, http, json as sdk_json, log, time,
};

/// How much of an unreadable error body goes into a failure message.
const EXCERPT_CHARS: usize = 300;

/// The most characters a post (and so a public reply) may hold.
pub const POST_TEXT_LIMIT: usize = 280;

/// The most media one post may carry.
const POST_MEDIA_LIMIT: usize = 4;

/// The request that sends `msg` as the business account (`access_token` is its user-context token).
pub fn encode(
    msg: &OutboundMessage,
    api_base: &str,
    access_token: &str,
) -> Result<HttpRequest, AdapterError> {
    match msg.kind {
        OutboundKind::Direct => encode_dm(msg, api_base, access_token),
        OutboundKind::PublicReply => encode_reply(msg, api_base, access_token),
    }
}

/// A public reply: `POST /2/tweets` answering the post in `in_reply_to`.
fn encode_reply(
    msg: &OutboundMessage,
    api_base: &str,
    access_token: &str,
) -> Result<HttpRequest, AdapterError> {
    let target = msg.in_reply_to.as_deref().unwrap_or_default();
    if !is_numeric_id(target) {
        return Err(AdapterError::Malformed(format!(
            "a public reply on X needs `in_reply_to`: the numeric id of the post it answers, not {target:?}"
        )));
    }
    let mut body = serde_json::Map::new();
    if let Some(text) = msg.text.as_deref().filter(|text| !text.is_empty()) {
        let chars = text.chars().count();
        if chars > POST_TEXT_LIMIT {
            return Err(AdapterError::Malformed(format!(
                "an X post holds at most {POST_TEXT_LIMIT} characters; this reply has {chars}"
            )));
        }
        body.insert("text".into(), json!(text));
    }
    if !msg.attachments.is_empty() {
        if msg.attachments.len() > POST_MEDIA_LIMIT {
            return Err(AdapterError::Malformed(format!(
                "an X post carries at most {POST_MEDIA_LIMIT} media, not {}",
                msg.attachments.len()
            )));
        }
        let media_ids = msg
            .attachments
            .iter()
            .map(|attachment| {
                attachment.media_id.as_deref().ok_or_else(|| {
                    AdapterError::Malformed(
                        "X posts media by `media_id` (uploaded by the business account); the \
                         attachment has none"
                            .into(),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        body.insert("media".into(), json!({ "media_ids": media_ids }));
    }
    if body.is_empty() {
        return Err(AdapterError::Malformed(
            "an X post needs text or media".into(),
        ));
    }
    body.insert("reply".into(), json!({ "in_reply_to_tweet_id": target }));
    post_json(
        format!("{}/2/tweets", api_base.trim_end_matches('/')),
        access_token,
        &Value::Object(body),
    )
}

fn is_numeric_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

fn post_json(url: String, access_token: &str, body: &Value) -> Result<HttpRequest, AdapterError> {
    Ok(HttpRequest {
        method: "POST".into(),
        url,
        headers: vec![
            ("authorization".into(), format!("Bearer {access_token}")),
            ("content-type".into(), "application/json".into()),
        ],
        body: sdk_json::to_body(body)?,
    })
}

/// A direct message to the customer.
fn encode_dm(
    msg: &OutboundMessage,
    api_base: &str,
    access_token: &str,
) -> Result<HttpRequest, AdapterError> {
    let customer = msg.customer_id.as_str();
    // X user ids are numeric; anything else would be spliced into the URL path.
    if !is_numeric_id(customer) {
        return Err(AdapterError::Malformed(format!(
            "the X customer id must be a numeric user id, not {customer:?}"
        )));
    }

    let mut body = serde_json::Map::new();
    if let Some(text) = msg.text.as_deref().filter(|text| !text.is_empty()) {
        body.insert("text".into(), json!(text));
    }
    match msg.attachments.as_slice() {
        [] => {}
        [attachment] => {
            let media_id = attachment.media_id.as_deref().ok_or_else(|| {
                AdapterError::Malformed(
                    "X sends media by `media_id` (uploaded by the business account); the \
                     attachment has none"
                        .into(),
                )
            })?;
            body.insert("attachments".into(), json!([{ "media_id": media_id }]));
        }
        more => {
            return Err(AdapterError::Malformed(format!(
                "X allows one attachment per DM, not {}",
                more.len()
            )));
        }
    }
    if body.is_empty() {
        return Err(AdapterError::Malformed(
            "an X DM needs text or an attachment".into(),
        ));
    }

    post_json(
        format!(
            "{}/2/dm_conversations/with/{customer}/messages",
            api_base.trim_end_matches('/')
        ),
        access_token,
        &Value::Object(body),
    )
}

/// Read X's answer to the send of Switchboard message `message_id`.
pub fn decode_response(message_id: &str, resp: &HttpResponse) -> SendResult {
    let status = resp.status;
    if (200..300).contains(&status) {
        return SendResult::Sent(platform_id(&resp.body).unwrap_or_else(|| {
            // Accepted all the same: failing it would make the host send it twice.
            log::warn(&format!(
                "X accepted message {message_id} (HTTP {status}) without `data.dm_event_id` or `data.id`"
            ));
            message_id.to_owned()
        }));
    }

    let detail = format!("X answered HTTP {status}: {}", error_detail(&resp.body));
    SendResult::Failed(match status {
        429 => SendFailure::RateLimited(RateLimit {
            retry_at_ms: http::rate_limit_reset_ms(&resp.headers)
                .or_else(|| http::retry_after_ms(&resp.headers, time::now_ms())),
            detail,
        }),
        403 => match v1_error_code(&resp.body) {
            // v1.1 codes for the recipient's DM settings or a block, not our credentials.
            Some(150 | 151 | 349) => SendFailure::RecipientUnreachable(detail),
            Some(354) => SendFailure::Permanent(detail),
            _ => SendFailure::Auth(detail),
        },
        401 => SendFailure::Auth(detail),
        500..=599 => SendFailure::Transient(detail),
        _ => SendFailure::Permanent(detail),
    })
}

/// The DM's `data.dm_event_id`, or the post's `data.id`.
fn platform_id(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let id = value
        .pointer("/data/dm_event_id")
        .or_else(|| value.pointer("/data/id"))?;
    id.as_str()
        .map(str::to_owned)
        .or_else(|| id.as_u64().map(|id| id.to_string()))
}

/// X's explanation: the v2 problem (`title` and `detail`), the v1.1 `errors[]` (`code` and
/// `message`), or an excerpt of whatever else came back.
fn error_detail(body: &[u8]) -> String {
    let excerpt = || match http::body_excerpt(body, EXCERPT_CHARS) {
        text if text.is_empty() => "no body".to_owned(),
        text => text,
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return excerpt();
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);

    let problem: Vec<String> = [text(&value, "title"), text(&value, "detail")]
        .into_iter()
        .flatten()
        .collect();
    let errors: Vec<String> = value
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|error| {
            let message = text(error, "message").or_else(|| text(error, "detail"))?;
            Some(match error.get("code").and_then(Value::as_i64) {
                Some(code) => format!("{message} (code {code})"),
                None => message,
            })
        })
        .collect();
    let parts: Vec<String> = [problem.join(": "), errors.join("; ")]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        excerpt()
    } else {
        parts.join(" - ")
    }
}

fn v1_error_code(body: &[u8]) -> Option<i64> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.pointer("/errors/0/code")?.as_i64()
}

#[cfg(test)]
mod tests {
    use switchboard_sdk::testing::{self, outbound_message, response};
    use switchboard_sdk::{Attachment, AttachmentKind, OutboundKind, QuickReply};

    use super::*;

    const API: &str = "https://api.x.invalid";

    fn message(text: Option<&str>) -> OutboundMessage {
        let mut message = outbound_message("1500000000000000777", text);
        message.in_reply_to = Some("1800000000000000101".into());
        message
    }

    fn media(media_id: Option<&str>) -> Attachment {
        Attachment {
            kind: AttachmentKind::Image,
            url: Some("https://files.example.invalid/label.png".into()),
            media_id: media_id.map(str::to_owned),
            mime_type: Some("image/png".into()),
            filename: None,
            caption: None,
        }
    }

    fn refusal(msg: &OutboundMessage) -> String {
        testing::malformed(encode(msg, API, "token"))
    }

    #[test]
    fn encodes_a_text_dm_without_quick_replies() {
        let mut msg = message(Some(
            "Thanks Dana, we are checking parcel 88-431.\n1. Track",
        ));
        msg.quick_replies = vec![QuickReply {
            label: "Track".into(),
            payload: "opt_track_parcel".into(),
        }];
        let req = encode(&msg, "https://api.x.invalid/", "fixture-user-token").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(
            req.url,
            "https://api.x.invalid/2/dm_conversations/with/1500000000000000777/messages"
        );
        assert_eq!(
            http::header(&req.headers, "Authorization"),
            Some("Bearer fixture-user-token")
        );
        assert_eq!(
            http::header(&req.headers, "content-type"),
            Some("application/json")
        );
        assert_eq!(
            String::from_utf8(req.body).unwrap(),
            r#"{"text":"Thanks Dana, we are checking parcel 88-431.\n1. Track"}"#
        );
    }

    #[test]
    fn encodes_one_uploaded_media() {
        let mut msg = message(Some("the label"));
        msg.attachments = vec![media(Some("1800000000000000556"))];
        let req = encode(&msg, API, "t").unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(
            body,
            json!({"text": "the label", "attachments": [{"media_id": "1800000000000000556"}]})
        );

        msg.text = None;
        let body: Value = serde_json::from_slice(&encode(&msg, API, "t").unwrap().body).unwrap();
        assert_eq!(
            body,
            json!({"attachments": [{"media_id": "1800000000000000556"}]})
        );
    }

    #[test]
    fn refuses_what_x_cannot_carry() {
        assert_eq!(
            refusal(&message(None)),
            "an X DM needs text or an attachment"
        );
        assert_eq!(
            refusal(&message(Some(""))),
            "an X DM needs text or an attachment"
        );

        let mut msg = message(Some("hi"));
        msg.attachments = vec![media(None)];
        assert!(refusal(&msg).contains("media_id"));
        msg.attachments = vec![media(Some("1")), media(Some("2"))];
        assert_eq!(refusal(&msg), "X allows one attachment per DM, not 2");

        let mut msg = message(Some("hi"));
        msg.customer_id = "../1.1/account/settings".into();
        assert!(refusal(&msg).contains("numeric user id"));
    }

    fn public_reply(text: Option<&str>) -> OutboundMessage {
        OutboundMessage {
            kind: OutboundKind::PublicReply,
            in_reply_to: Some("1800000000000000301".into()),
            ..message(text)
        }
    }

    #[test]
    fn encodes_a_public_reply_as_a_post() {
        let msg = public_reply(Some("@dana_fixture We are on it, Dana. Check your DMs."));
        let req = encode(&msg, "https://api.x.invalid/", "fixture-user-token").unwrap();
        assert_eq!(req.method, "POST");
        assert_eq!(req.url, "https://api.x.invalid/2/tweets");
        assert_eq!(
            http::header(&req.headers, "authorization"),
            Some("Bearer fixture-user-token")
        );
        assert_eq!(
            http::header(&req.headers, "content-type"),
            Some("application/json")
        );
        let expected: Value =
            serde_json::from_slice(include_bytes!("../fixtures/post-reply-request.json")).unwrap();
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(body, expected);

        let mut with_media = public_reply(None);
        with_media.attachments = vec![media(Some("1800000000000000556")), media(Some("7"))];
        let body: Value =
            serde_json::from_slice(&encode(&with_media, API, "t").unwrap().body).unwrap();
        assert_eq!(
            body,
            json!({"media": {"media_ids": ["1800000000000000556", "7"]},
                   "reply": {"in_reply_to_tweet_id": "1800000000000000301"}})
        );
    }

    #[test]
    fn refuses_public_replies_x_would_refuse() {
        let at_limit = public_reply(Some(&"é".repeat(POST_TEXT_LIMIT)));
        assert!(encode(&at_limit, API, "t").is_ok());
        assert_eq!(
            refusal(&public_reply(Some(&"x".repeat(POST_TEXT_LIMIT + 1)))),
            "an X post holds at most 280 characters; this reply has 281"
        );
        let mut no_target = public_reply(Some("hi"));
        no_target.in_reply_to = None;
        assert!(refusal(&no_target).contains("in_reply_to"));
        no_target.in_reply_to = Some("ext-msg-1".into());
        assert!(refusal(&no_target).contains("numeric id"));
        assert_eq!(
            refusal(&public_reply(None)),
            "an X post needs text or media"
        );
        let mut too_many = public_reply(Some("hi"));
        too_many.attachments = (1..=5).map(|i| media(Some(&i.to_string()))).collect();
        assert_eq!(
            refusal(&too_many),
            "an X post carries at most 4 media, not 5"
        );
        let mut unuploaded = public_reply(Some("hi"));
        unuploaded.attachments = vec![media(None)];
        assert!(refusal(&unuploaded).contains("media_id"));
    }

    #[test]
    fn created_post_gives_the_post_id() {
        let body = include_str!("../fixtures/post-reply-created.json");
        assert_eq!(
            decode_response("sb-msg-0001", &response(201, &[], body)),
            SendResult::Sent("1800000000000000500".into())
        );
    }

    #[test]
    fn created_gives_the_dm_event_id() {
        let body = r#"{"data":{"dm_conversation_id":"1500000000000000001-1500000000000000777","dm_event_id":"1800000000000000200"}}"#;
        assert_eq!(
            decode_response("sb-msg-0001", &response(201, &[], body)),
            SendResult::Sent("1800000000000000200".into())
        );
        assert_eq!(
            decode_response("sb-msg-0001", &response(201, &[], "")),
            SendResult::Sent("sb-msg-0001".into())
        );
    }

    #[test]
    fn rate_limits_carry_the_reset_time() {
        let body = r#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#;
        let headers = [
            ("x-rate-limit-limit", "15"),
            ("x-rate-limit-remaining", "0"),
            ("x-rate-limit-reset", "1790000900"),
        ];
        assert_eq!(
            decode_response("m", &response(429, &headers, body)),
            SendResult::Failed(SendFailure::RateLimited(RateLimit {
                retry_at_ms: Some(1_790_000_900_000),
                detail: "X answered HTTP 429: Rate limit exceeded (code 88)".into(),
            }))
        );

        let SendResult::Failed(SendFailure::RateLimited(limit)) =
            decode_response("m", &response(429, &[("Retry-After", "60")], ""))
        else {
            panic!("expected a rate limit");
        };
        assert!(limit.retry_at_ms.unwrap() > time::now_ms());
        assert_eq!(limit.detail, "X answered HTTP 429: no body");

        let SendResult::Failed(SendFailure::RateLimited(limit)) =
            decode_response("m", &response(429, &[], "Too Many Requests"))
        else {
            panic!("expected a rate limit");
        };
        assert_eq!(limit.retry_at_ms, None);
    }

    #[test]
    fn classifies_failures_with_x_detail() {
        let problem =
            r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#;
        assert_eq!(
            decode_response("m", &response(401, &[], problem)),
            SendResult::Failed(SendFailure::Auth(
                "X answered HTTP 401: Unauthorized: Unauthorized".into()
            ))
        );
        let scopes = r#"{"title":"Forbidden","detail":"Missing scope dm.write","type":"https://api.x.com/2/problems/client-forbidden"}"#;
        assert_eq!(
            decode_response("m", &response(403, &[], scopes)),
            SendResult::Failed(SendFailure::Auth(
                "X answered HTTP 403: Forbidden: Missing scope dm.write".into()
            ))
        );
        let blocked =
            r#"{"errors":[{"code":349,"message":"You cannot send messages to this user."}]}"#;
        assert_eq!(
            decode_response("m", &response(403, &[], blocked)),
            SendResult::Failed(SendFailure::RecipientUnreachable(
                "X answered HTTP 403: You cannot send messages to this user. (code 349)".into()
            ))
        );
        assert_eq!(
            decode_response("m", &response(503, &[], "<html>Over capacity</html>")),
            SendResult::Failed(SendFailure::Transient(
                "X answered HTTP 503: <html>Over capacity</html>".into()
            ))
        );
        let invalid = r#"{"errors":[{"parameters":{"text":[""]},"message":"text must be 1 to 10000 characters"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.x.com/2/problems/invalid-request"}"#;
        assert_eq!(
            decode_response("m", &response(400, &[], invalid)),
            SendResult::Failed(SendFailure::Permanent(
                "X answered HTTP 400: Invalid Request: One or more parameters to your request was \
                 invalid. - text must be 1 to 10000 characters"
                    .into()
            ))
        );
        assert!(matches!(
            decode_response("m", &response(404, &[], "")),
            SendResult::Failed(SendFailure::Permanent(_))
        ));
    }
}
