//! Between the latest channel contract's WIT types and the host's own: every supported version
//! shares these types (0.1.0 reuses 0.2.0's), so each conversion is written once.

use super::super::super::bindings::channel_v0_2::types as wt;
use super::super::super::error::AdapterError;
use super::types::{HttpRequest, WebhookRequest};
use crate::events::{
    self, AdapterInfo, Capabilities, InboundEvent, OutboundMessage, SendFailure, SendResult,
    TextUnit,
};

pub(super) fn info_from_wit(info: wt::AdapterInfo) -> AdapterInfo {
    AdapterInfo {
        platform: info.platform,
        text_limit: info.text_limit,
        text_unit: match info.text_unit {
            wt::TextUnit::Chars => TextUnit::Chars,
            wt::TextUnit::Bytes => TextUnit::Bytes,
        },
        reply_window_hours: info.reply_window_hours,
        human_agent_window_hours: info.human_agent_window_hours,
        capabilities: Capabilities {
            attachments: info.capabilities.contains(wt::Capabilities::ATTACHMENTS),
            quick_replies: info.capabilities.contains(wt::Capabilities::QUICK_REPLIES),
            typing: info.capabilities.contains(wt::Capabilities::TYPING),
            receipts: info.capabilities.contains(wt::Capabilities::RECEIPTS),
            templates: info.capabilities.contains(wt::Capabilities::TEMPLATES),
        },
    }
}

pub(super) fn webhook_request_to_wit(request: WebhookRequest) -> wt::WebhookRequest {
    wt::WebhookRequest {
        method: request.method,
        path: request.path,
        query: request.query,
        headers: request.headers,
        body: request.body,
    }
}

pub(super) fn outbound_to_wit(message: &OutboundMessage) -> wt::OutboundMessage {
    wt::OutboundMessage {
        id: message.id.clone(),
        conversation_id: message.conversation_id.clone(),
        customer_id: message.customer_id.clone(),
        text: message.text.clone(),
        quick_replies: message
            .quick_replies
            .iter()
            .map(|q| wt::QuickReply {
                label: q.label.clone(),
                payload: q.payload.clone(),
            })
            .collect(),
        attachments: message.attachments.iter().map(attachment_to_wit).collect(),
        author: match message.author {
            events::Author::Agent => wt::Author::Agent,
            events::Author::Bot | events::Author::Customer => wt::Author::Bot,
        },
        author_name: message.author_name.clone(),
        in_reply_to: message.in_reply_to.clone(),
        kind: match message.kind {
            events::OutboundKind::Direct => wt::OutboundKind::Direct,
            events::OutboundKind::PublicReply => wt::OutboundKind::PublicReply,
        },
        template: message.template.as_ref().map(|t| wt::TemplateMessage {
            name: t.name.clone(),
            language: t.language.clone(),
            parameters: t.parameters.clone(),
        }),
        tag: message.tag.clone(),
    }
}

pub(super) fn send_result_from_wit(result: wt::SendResult) -> SendResult {
    match result {
        wt::SendResult::Sent(id) => SendResult::Sent(id),
        wt::SendResult::Failed(f) => SendResult::Failed(match f {
            wt::SendFailure::RateLimited(r) => SendFailure::RateLimited {
                retry_at_ms: r.retry_at_ms,
                detail: r.detail,
            },
            wt::SendFailure::WindowClosed(d) => SendFailure::WindowClosed(d),
            wt::SendFailure::RecipientUnreachable(d) => SendFailure::RecipientUnreachable(d),
            wt::SendFailure::Auth(d) => SendFailure::Auth(d),
            wt::SendFailure::Transient(d) => SendFailure::Transient(d),
            wt::SendFailure::Permanent(d) => SendFailure::Permanent(d),
        }),
    }
}

impl From<wt::HttpRequest> for HttpRequest {
    fn from(r: wt::HttpRequest) -> HttpRequest {
        HttpRequest {
            method: r.method,
            url: r.url,
            headers: r.headers,
            body: r.body,
        }
    }
}

pub(super) fn adapter_error(e: wt::AdapterError) -> AdapterError {
    match e {
        wt::AdapterError::Unauthorized(m) => AdapterError::Unauthorized(m),
        wt::AdapterError::Malformed(m) => AdapterError::Malformed(m),
        wt::AdapterError::Misconfigured(m) => AdapterError::Misconfigured(m),
    }
}

pub(super) fn event_from_wit(e: wt::InboundEvent) -> InboundEvent {
    match e {
        wt::InboundEvent::Message(m) => InboundEvent::Message(events::InboundMessage {
            id: m.id,
            customer_id: m.customer_id,
            timestamp_ms: m.timestamp_ms,
            text: m.text,
            attachments: m.attachments.into_iter().map(attachment_from_wit).collect(),
            quick_reply: m.quick_reply,
            profile: m.profile.map(|p| events::Profile {
                display_name: p.display_name,
                handle: p.handle,
                verified: p.verified,
                followers: p.followers,
                posts: p.posts,
                avatar_url: p.avatar_url,
                email: p.email,
            }),
            kind: match m.kind {
                wt::MessageKind::Direct => events::MessageKind::Direct,
                wt::MessageKind::Mention => events::MessageKind::Mention,
                wt::MessageKind::Like => events::MessageKind::Like,
                wt::MessageKind::Postback => events::MessageKind::Postback,
                wt::MessageKind::Reaction => events::MessageKind::Reaction,
            },
            reply_to: m.reply_to,
            reaction: m.reaction,
        }),
        wt::InboundEvent::Receipt(r) => InboundEvent::Receipt(events::Receipt {
            message_id: r.message_id,
            customer_id: r.customer_id,
            status: match r.status {
                wt::DeliveryStatus::Pending => events::DeliveryStatus::Pending,
                wt::DeliveryStatus::Sent => events::DeliveryStatus::Sent,
                wt::DeliveryStatus::Delivered => events::DeliveryStatus::Delivered,
                wt::DeliveryStatus::Read => events::DeliveryStatus::Read,
                wt::DeliveryStatus::Failed => events::DeliveryStatus::Failed,
            },
            reason: r.reason,
            timestamp_ms: r.timestamp_ms,
        }),
        wt::InboundEvent::Typing(t) => InboundEvent::Typing(events::Typing {
            customer_id: t.customer_id,
            timestamp_ms: t.timestamp_ms,
        }),
        wt::InboundEvent::Read(r) => InboundEvent::Read(events::ReadMarker {
            customer_id: r.customer_id,
            up_to_message_id: r.up_to_message_id,
            timestamp_ms: r.timestamp_ms,
        }),
    }
}

fn attachment_from_wit(a: wt::Attachment) -> events::Attachment {
    events::Attachment {
        kind: match a.kind {
            wt::AttachmentKind::Image => events::AttachmentKind::Image,
            wt::AttachmentKind::Video => events::AttachmentKind::Video,
            wt::AttachmentKind::Audio => events::AttachmentKind::Audio,
            wt::AttachmentKind::File => events::AttachmentKind::File,
            wt::AttachmentKind::Location => events::AttachmentKind::Location,
            wt::AttachmentKind::Link => events::AttachmentKind::Link,
            wt::AttachmentKind::Other => events::AttachmentKind::Other,
        },
        url: a.url,
        media_id: a.media_id,
        mime_type: a.mime_type,
        filename: a.filename,
        caption: a.caption,
    }
}

fn attachment_to_wit(a: &events::Attachment) -> wt::Attachment {
    wt::Attachment {
        kind: match a.kind {
            events::AttachmentKind::Image => wt::AttachmentKind::Image,
            events::AttachmentKind::Video => wt::AttachmentKind::Video,
            events::AttachmentKind::Audio => wt::AttachmentKind::Audio,
            events::AttachmentKind::File => wt::AttachmentKind::File,
            events::AttachmentKind::Location => wt::AttachmentKind::Location,
            events::AttachmentKind::Link => wt::AttachmentKind::Link,
            events::AttachmentKind::Other => wt::AttachmentKind::Other,
        },
        url: a.url.clone(),
        media_id: a.media_id.clone(),
        mime_type: a.mime_type.clone(),
        filename: a.filename.clone(),
        caption: a.caption.clone(),
    }
}
