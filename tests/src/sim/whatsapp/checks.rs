//! The Cloud API's checks of a send body (reference §3.4): what the real endpoint refuses with
//! code 100, and what a valid call asks for.

use std::collections::HashSet;

use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use super::super::graph::json_fields;
use super::digits;

/// `text.body` limit (reference §3.5).
const MAX_TEXT_CHARS: usize = 4096;
const MAX_BUTTONS: usize = 3;
const MAX_BUTTON_TITLE_CHARS: usize = 20;
const MAX_LIST_ROWS: usize = 10;
const MAX_ROW_TITLE_CHARS: usize = 24;
const MAX_CAPTION_CHARS: usize = 1024;

/// What a valid call asks for.
#[derive(Debug, PartialEq)]
pub(super) enum Call {
    /// A message to `to` of type `kind`; `text` is what the customer reads (body, caption).
    Message {
        to: String,
        kind: String,
        text: Option<String>,
    },
    /// `{"status": "read", "message_id": …}`.
    MarkRead { message_id: String },
}

/// Checks a send body as the real endpoint would; returns it and what it asks for, or why it is
/// invalid.
pub(super) fn check_request(headers: &HeaderMap, body: &[u8]) -> Result<(Value, Call), String> {
    let fields = &json_fields(headers, body)?;
    let request = Value::Object(fields.clone());
    if fields.get("messaging_product") != Some(&json!("whatsapp")) {
        return Err("messaging_product must be \"whatsapp\"".into());
    }
    if let Some(status) = fields.get("status") {
        if status != "read" {
            return Err(format!("status must be \"read\", not {status}"));
        }
        let message_id = string(fields, "message_id")?;
        if let Some(unknown) = fields.keys().find(|key| {
            !matches!(
                key.as_str(),
                "messaging_product" | "status" | "message_id" | "typing_indicator"
            )
        }) {
            return Err(format!("unknown field {unknown:?} in a mark-read call"));
        }
        return Ok((request, Call::MarkRead { message_id }));
    }

    let to = string(fields, "to")?;
    if digits(&to).is_empty() {
        return Err(format!("to {to:?} is not a phone number"));
    }
    if let Some(recipient_type) = fields.get("recipient_type")
        && recipient_type != "individual"
        && recipient_type != "group"
    {
        return Err(format!(
            "recipient_type {recipient_type} is neither individual nor group"
        ));
    }
    let kind = fields
        .get("type")
        .map(|kind| {
            kind.as_str()
                .map(str::to_owned)
                .ok_or("type must be a string")
        })
        .transpose()?
        .unwrap_or_else(|| "text".into());
    if let Some(unknown) = fields.keys().find(|key| {
        !matches!(
            key.as_str(),
            "messaging_product"
                | "recipient_type"
                | "to"
                | "type"
                | "context"
                | "biz_opaque_callback_data"
        ) && **key != kind
    }) {
        return Err(format!("unknown field {unknown:?} for a {kind} message"));
    }
    if let Some(context) = fields.get("context")
        && context
            .get("message_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err("context must be {\"message_id\": \"wamid…\"}".into());
    }
    let object = fields
        .get(&kind)
        .and_then(Value::as_object)
        .ok_or_else(|| format!("a {kind} message needs a `{kind}` object"))?;
    let text = match kind.as_str() {
        "text" => {
            let text = string(object, "body")?;
            let chars = text.chars().count();
            if !(1..=MAX_TEXT_CHARS).contains(&chars) {
                return Err(format!(
                    "text.body must be 1 to {MAX_TEXT_CHARS} characters, not {chars}"
                ));
            }
            if object.get("preview_url").is_some_and(|p| !p.is_boolean()) {
                return Err("text.preview_url must be a boolean".into());
            }
            Some(text)
        }
        "template" => {
            check_template(object)?;
            None
        }
        "interactive" => Some(check_interactive(object)?),
        "image" | "document" | "audio" | "video" | "sticker" => check_media(&kind, object)?,
        other => return Err(format!("unsupported message type {other:?}")),
    };
    Ok((request, Call::Message { to, kind, text }))
}

fn string(object: &Map<String, Value>, key: &str) -> Result<String, String> {
    match object.get(key) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(format!("{key} must not be empty")),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
        None => Err(format!("{key} is required")),
    }
}

fn chars_within(text: &str, what: &str, max: usize) -> Result<(), String> {
    let chars = text.chars().count();
    if (1..=max).contains(&chars) {
        Ok(())
    } else {
        Err(format!("{what} must be 1 to {max} characters, not {chars}"))
    }
}

/// A name of lowercase letters, digits and underscores, and a language code.
fn check_template(template: &Map<String, Value>) -> Result<(), String> {
    let name = string(template, "name")?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "template name {name:?} must be lowercase letters, digits and underscores"
        ));
    }
    let language = template
        .get("language")
        .and_then(Value::as_object)
        .ok_or("template.language must be {\"code\": …}")?;
    string(language, "code").map_err(|e| format!("template.language.{e}"))?;
    if let Some(components) = template.get("components") {
        let components = components
            .as_array()
            .ok_or("template.components must be an array")?;
        for component in components {
            let parameters = component.get("parameters").and_then(Value::as_array);
            if component.get("type").and_then(Value::as_str).is_none() {
                return Err("every template component needs a type".into());
            }
            for parameter in parameters.into_iter().flatten() {
                if parameter.get("type").and_then(Value::as_str).is_none() {
                    return Err("every template parameter needs a type".into());
                }
            }
        }
    }
    Ok(())
}

/// Reply buttons (1-3, titles ≤ 20) or a list (1-10 rows, titles ≤ 24); returns the body text.
fn check_interactive(interactive: &Map<String, Value>) -> Result<String, String> {
    let body = interactive
        .get("body")
        .and_then(Value::as_object)
        .ok_or("interactive.body is required")?;
    let text = string(body, "text").map_err(|e| format!("interactive.body.{e}"))?;
    chars_within(&text, "interactive.body.text", MAX_CAPTION_CHARS)?;
    let action = interactive
        .get("action")
        .and_then(Value::as_object)
        .ok_or("interactive.action is required")?;
    let mut ids = HashSet::new();
    match interactive.get("type").and_then(Value::as_str) {
        Some("button") => {
            let buttons = action
                .get("buttons")
                .and_then(Value::as_array)
                .ok_or("interactive.action.buttons is required")?;
            if !(1..=MAX_BUTTONS).contains(&buttons.len()) {
                return Err(format!(
                    "interactive buttons must be 1 to {MAX_BUTTONS}, not {}",
                    buttons.len()
                ));
            }
            for button in buttons {
                if button.get("type") != Some(&json!("reply")) {
                    return Err("every button must be of type \"reply\"".into());
                }
                let reply = button
                    .get("reply")
                    .and_then(Value::as_object)
                    .ok_or("every button needs a reply {id, title}")?;
                let id = string(reply, "id").map_err(|e| format!("button reply.{e}"))?;
                chars_within(&id, "a button id", 256)?;
                let title = string(reply, "title").map_err(|e| format!("button reply.{e}"))?;
                chars_within(&title, "a button title", MAX_BUTTON_TITLE_CHARS)?;
                if !ids.insert(id.clone()) {
                    return Err(format!("button id {id:?} is used twice"));
                }
            }
        }
        Some("list") => {
            let button = string(action, "button").map_err(|e| format!("interactive.action.{e}"))?;
            chars_within(&button, "the list button", MAX_BUTTON_TITLE_CHARS)?;
            let sections = action
                .get("sections")
                .and_then(Value::as_array)
                .filter(|sections| !sections.is_empty())
                .ok_or("interactive.action.sections must be a non-empty array")?;
            let mut rows = 0;
            for section in sections {
                let section_rows = section
                    .get("rows")
                    .and_then(Value::as_array)
                    .ok_or("every list section needs rows")?;
                for row in section_rows {
                    let row = row.as_object().ok_or("a list row must be an object")?;
                    let id = string(row, "id").map_err(|e| format!("list row {e}"))?;
                    chars_within(&id, "a list row id", 200)?;
                    let title = string(row, "title").map_err(|e| format!("list row {e}"))?;
                    chars_within(&title, "a list row title", MAX_ROW_TITLE_CHARS)?;
                    if !ids.insert(id.clone()) {
                        return Err(format!("list row id {id:?} is used twice"));
                    }
                    rows += 1;
                }
            }
            if !(1..=MAX_LIST_ROWS).contains(&rows) {
                return Err(format!(
                    "a list must have 1 to {MAX_LIST_ROWS} rows, not {rows}"
                ));
            }
        }
        other => {
            return Err(format!(
                "interactive.type must be \"button\" or \"list\" (as the simulator knows them), not {other:?}"
            ));
        }
    }
    Ok(text)
}

/// Exactly one of `id` and `link`; captions (≤ 1,024) only where WhatsApp shows them.
fn check_media(kind: &str, media: &Map<String, Value>) -> Result<Option<String>, String> {
    match (media.get("id"), media.get("link")) {
        (Some(Value::String(id)), None) if !id.is_empty() => {}
        (None, Some(Value::String(link))) if link.starts_with("http") => {}
        _ => {
            return Err(format!(
                "a {kind} needs exactly one of a media id or an http(s) link"
            ));
        }
    }
    let caption = match media.get("caption") {
        None => None,
        Some(_) if matches!(kind, "audio" | "sticker") => {
            return Err(format!("a {kind} message has no caption"));
        }
        Some(Value::String(caption)) => {
            chars_within(caption, "a caption", MAX_CAPTION_CHARS)?;
            Some(caption.clone())
        }
        Some(_) => return Err("a caption must be a string".into()),
    };
    Ok(caption)
}

#[cfg(test)]
mod tests {
    use axum::http::header::CONTENT_TYPE;

    use super::*;

    const CUSTOMER: &str = "4915112345678";

    fn check(body: Value) -> Result<Call, String> {
        let headers = HeaderMap::from_iter([(CONTENT_TYPE, "application/json".parse().unwrap())]);
        check_request(&headers, body.to_string().as_bytes()).map(|(_, call)| call)
    }

    fn message(kind: &str, object: Value) -> Value {
        let mut body = json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "type": kind });
        body[kind] = object;
        body
    }

    #[test]
    fn accepts_what_the_adapter_sends() {
        let buttons = message(
            "interactive",
            json!({ "type": "button", "body": { "text": "Was möchten Sie tun?" },
            "action": { "buttons": [ { "type": "reply", "reply": { "id": "btn_talk_to_agent", "title": "Talk to agent" } },
                                     { "type": "reply", "reply": { "id": "btn_track", "title": "Track parcel" } } ] } }),
        );
        assert_eq!(
            check(buttons),
            Ok(Call::Message {
                to: CUSTOMER.into(),
                kind: "interactive".into(),
                text: Some("Was möchten Sie tun?".into())
            })
        );
        let list = message(
            "interactive",
            json!({ "type": "list", "body": { "text": "Pick" },
            "action": { "button": "Options", "sections": [ { "rows": [ { "id": "a", "title": "A" }, { "id": "b", "title": "B" } ] } ] } }),
        );
        assert!(check(list).is_ok());
        let image = message(
            "image",
            json!({ "id": "900000000000021", "caption": "the label" }),
        );
        assert_eq!(
            check(image),
            Ok(Call::Message {
                to: CUSTOMER.into(),
                kind: "image".into(),
                text: Some("the label".into())
            })
        );
        assert!(
            check(message(
                "document",
                json!({ "link": "https://files.example.invalid/a.pdf", "filename": "a.pdf" })
            ))
            .is_ok()
        );
        let mut reply = text_body("hi");
        reply["context"] = json!({ "message_id": "wamid.FIXTURE-IN-0001" });
        assert!(check(reply).is_ok());
        assert_eq!(
            check(
                json!({ "messaging_product": "whatsapp", "status": "read", "message_id": "wamid.FIXTURE-IN-0001" })
            ),
            Ok(Call::MarkRead {
                message_id: "wamid.FIXTURE-IN-0001".into()
            })
        );
    }

    fn text_body(body: &str) -> Value {
        message("text", json!({ "body": body }))
    }

    #[test]
    fn rejects_what_the_real_api_rejects() {
        let four_buttons: Vec<Value> = (0..4)
            .map(|i| json!({ "type": "reply", "reply": { "id": format!("b{i}"), "title": "T" } }))
            .collect();
        let rows: Vec<Value> = (0..11)
            .map(|i| json!({ "id": format!("r{i}"), "title": "T" }))
            .collect();
        for body in [
            json!({ "to": CUSTOMER, "type": "text", "text": { "body": "hi" } }),
            json!({ "messaging_product": "whatsapp", "type": "text", "text": { "body": "hi" } }),
            text_body(""),
            message("text", json!({ "body": "hi", "preview_url": "no" })),
            message("text", json!("hi")),
            json!({ "messaging_product": "whatsapp", "to": CUSTOMER, "type": "text", "text": { "body": "hi" }, "quick_replies": [] }),
            message(
                "template",
                json!({ "name": "Case Followup", "language": { "code": "de" } }),
            ),
            message("template", json!({ "name": "case_followup_v2" })),
            message(
                "interactive",
                json!({ "type": "button", "body": { "text": "x" }, "action": { "buttons": four_buttons } }),
            ),
            message(
                "interactive",
                json!({ "type": "button", "body": { "text": "x" },
                "action": { "buttons": [ { "type": "reply", "reply": { "id": "a", "title": "twenty-one characters" } } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "button", "action": { "buttons": [ { "type": "reply", "reply": { "id": "a", "title": "A" } } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "list", "body": { "text": "x" }, "action": { "button": "Options", "sections": [ { "rows": rows } ] } }),
            ),
            message(
                "interactive",
                json!({ "type": "list", "body": { "text": "x" }, "action": { "button": "Options", "sections": [ { "rows": [ { "id": "a", "title": "twenty-five characters..." } ] } ] } }),
            ),
            message("image", json!({ "caption": "no media" })),
            message(
                "image",
                json!({ "id": "1", "link": "https://a.invalid/x.png" }),
            ),
            message("audio", json!({ "id": "1", "caption": "no" })),
            message("location", json!({ "latitude": 1, "longitude": 2 })),
            json!({ "messaging_product": "whatsapp", "status": "read" }),
            json!({ "messaging_product": "whatsapp", "status": "delivered", "message_id": "wamid.X" }),
        ] {
            assert!(check(body.clone()).is_err(), "{body} should be rejected");
        }
        assert!(check_request(&HeaderMap::new(), text_body("hi").to_string().as_bytes()).is_err());
    }
}
