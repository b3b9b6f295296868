"""Sending: a signed "Outbound Open NormalizedMessage" POSTed to the middleware's webhook, as the
Rust adapter builds it (plugins/open-messaging/src/send.rs).

`id` and `channel.messageId` are our message id (receipts come back with it as `id`),
`channel.to.id` is the customer, `type: "Text"` with `text` and at most one `content[]`
attachment, and `direction: "Outbound"`. The format has no quick replies, so the host renders
them into the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .sdk import (
    Headers,
    body_excerpt,
    debug_string,
    format_rfc3339_ms,
    malformed,
    misconfigured,
    retry_after_ms,
    sign_base64,
    to_body,
)
from .webhook import SIGNATURE_HEADER

# How much of an error body goes into a failure message.
EXCERPT_CHARS = 300


@dataclass
class Channel:
    """Where and how the integration sends."""

    webhook_url: str
    secret: str
    integration_id: str


@dataclass
class Attachment:
    kind: str
    url: Optional[str] = None
    media_id: Optional[str] = None
    mime_type: Optional[str] = None
    filename: Optional[str] = None
    caption: Optional[str] = None


@dataclass
class Message:
    """The fields of an `outbound-message` this adapter reads (`author` is `bot` or `agent`)."""

    id: str
    conversation_id: str
    customer_id: str
    text: Optional[str]
    attachments: Sequence[Attachment]
    author: str
    author_name: Optional[str]
    in_reply_to: Optional[str]


Request = Tuple[str, str, List[Tuple[str, str]], bytes]


def encode(msg: Message, channel: Channel, now_ms: int) -> Request:
    """The signed request `(method, url, headers, body)` that delivers `msg`, stamped `now_ms`."""
    url = channel.webhook_url.strip()
    if not (url.startswith("https://") or url.startswith("http://")):
        raise misconfigured(f"setting `webhook_url` must be an http(s) URL, not {debug_string(url)}")
    if msg.customer_id.strip() == "":
        raise malformed("the message has no customer id")

    sender: Dict[str, Any] = {"id": channel.integration_id, "idType": "Opaque"}
    if msg.author_name:
        sender["nickname"] = msg.author_name
    body: Dict[str, Any] = {
        "id": msg.id,
        "channel": {
            "id": channel.integration_id,
            "platform": "Open",
            "type": "Private",
            # The customer's `idType` is not kept; Genesys's own notifications say `Opaque`.
            "to": {"id": msg.customer_id, "idType": "Opaque"},
            "from": sender,
            "time": format_rfc3339_ms(now_ms),
            "messageId": msg.id,
        },
        "type": "Text",
    }
    text = msg.text or None
    if text is not None:
        body["text"] = text
    if not msg.attachments and text is None:
        raise malformed("an Open Messaging message needs text or an attachment")
    if len(msg.attachments) == 1:
        body["content"] = [_content(msg.attachments[0])]
    elif len(msg.attachments) > 1:
        raise malformed(f"Open Messaging carries one attachment per message, not {len(msg.attachments)}")
    body["originatingEntity"] = "Human" if msg.author == "agent" else "Bot"
    body["direction"] = "Outbound"
    body["conversationId"] = msg.conversation_id
    if msg.in_reply_to is not None:
        body["metadata"] = {"inReplyTo": msg.in_reply_to}

    data = to_body(body)
    headers = [
        ("content-type", "application/json"),
        (SIGNATURE_HEADER, sign_base64(channel.secret.encode("utf-8"), data)),
    ]
    return "POST", url, headers, data


_MEDIA_TYPES = {"image": "Image", "video": "Video", "audio": "Audio", "link": "Link"}


def _content(attachment: Attachment) -> Dict[str, Any]:
    """A `content[]` item: `{contentType: "Attachment", attachment: {mediaType, url, …}}`."""
    if attachment.url is None:
        raise malformed("an Open Messaging attachment needs a download `url`")
    item: Dict[str, Any] = {"mediaType": _MEDIA_TYPES.get(attachment.kind, "File"), "url": attachment.url}
    for key, value in (
        ("id", attachment.media_id),
        ("mime", attachment.mime_type),
        ("filename", attachment.filename),
        ("text", attachment.caption),
    ):
        if value is not None:
            item[key] = value
    return {"contentType": "Attachment", "attachment": item}


def decode_response(message_id: str, status: int, headers: Headers, body: bytes, now_ms: int) -> Tuple[str, Any]:
    """The middleware's answer to the send of `message_id`: `("sent", id)` or
    `(failure, detail)` with failure `rate-limited` (detail `(retry_at_ms, text)`), `auth`,
    `transient` or `permanent`. The middleware answers with a bare 2xx, so the platform's id of
    our message is our own id."""
    if 200 <= status < 300:
        return "sent", message_id
    excerpt = body_excerpt(body, EXCERPT_CHARS)
    detail = f"the webhook answered HTTP {status}" + (f": {excerpt}" if excerpt else "")
    if status == 429:
        return "rate-limited", (retry_after_ms(headers, now_ms), detail)
    if status in (401, 403):
        return "auth", detail
    if 500 <= status <= 599:
        return "transient", detail
    return "permanent", detail
