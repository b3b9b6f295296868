"""The Open Messaging channel adapter in Python: the `switchboard:channel@0.1.0` world `adapter`,
componentized with componentize-py. It behaves as plugins/open-messaging (Rust) does.

Settings of the integration:

- `secret` (required): the shared `X-Hub-Signature-256` secret, both ways.
- `webhook_url` (required for sends): where the middleware takes outbound messages.
- `inbound_token` (optional): a bearer token the middleware may present instead of signing.

This module only translates between the WIT types and the plain values of `open_messaging`.
"""

from typing import Any, Dict, Optional

from componentize_py_types import Err

from wit_world import exports
from wit_world.imports import config, logging
from wit_world.imports import types as t

from open_messaging import send, webhook
from open_messaging.inbound import Event
from open_messaging.sdk import AdapterError, misconfigured, now_ms


def _setting(key: str) -> Optional[str]:
    value = config.get(key)
    return None if value is None or value.strip() == "" else value


def _require(key: str) -> str:
    value = _setting(key)
    if value is None:
        raise misconfigured(f"setting `{key}` is missing")
    return value


def _debug(message: str) -> None:
    logging.log(logging.Level.DEBUG, message)


def _err(error: AdapterError) -> Err:
    variant = {
        "unauthorized": t.AdapterError_Unauthorized,
        "malformed": t.AdapterError_Malformed,
        "misconfigured": t.AdapterError_Misconfigured,
    }[error.kind]
    return Err(variant(error.message))


def _attachment(a: Dict[str, Any]) -> t.Attachment:
    return t.Attachment(
        kind=t.AttachmentKind[a["kind"].upper()],
        url=a["url"],
        media_id=a["media_id"],
        mime_type=a["mime_type"],
        filename=a["filename"],
        caption=a["caption"],
    )


def _event(event: Event) -> t.InboundEvent:
    tag, value = event
    if tag == "message":
        return t.InboundEvent_Message(
            t.InboundMessage(
                id=value["id"],
                customer_id=value["customer_id"],
                timestamp_ms=value["timestamp_ms"],
                text=value["text"],
                attachments=[_attachment(a) for a in value["attachments"]],
                quick_reply=value["quick_reply"],
                profile=t.Profile(**value["profile"]),
                kind=t.MessageKind[value["kind"].upper()],
                reply_to=value["reply_to"],
                reaction=value["reaction"],
            )
        )
    if tag == "receipt":
        return t.InboundEvent_Receipt(
            t.Receipt(
                message_id=value["message_id"],
                customer_id=value["customer_id"],
                status=t.DeliveryStatus[value["status"].upper()],
                reason=value["reason"],
                timestamp_ms=value["timestamp_ms"],
            )
        )
    return t.InboundEvent_Typing(
        t.Typing(customer_id=value["customer_id"], timestamp_ms=value["timestamp_ms"])
    )


class Handler(exports.Handler):
    def describe(self) -> t.AdapterInfo:
        return t.AdapterInfo(
            platform="open-messaging",
            # Open Messaging documents no limit of its own (the far-end channel's applies).
            text_limit=10_000,
            text_unit=t.TextUnit.CHARS,
            reply_window_hours=None,
            human_agent_window_hours=None,
            # No quick replies: the outbound format carries only `text` and `content[]`
            # attachments, so the host renders the options into the text.
            capabilities=t.Capabilities.ATTACHMENTS | t.Capabilities.RECEIPTS | t.Capabilities.TYPING,
        )

    def handle_webhook(self, request: t.WebhookRequest) -> t.WebhookOutcome:
        try:
            secret = _require("secret")
            (status, headers, body), events = webhook.handle(
                request.method,
                request.headers,
                request.body,
                secret,
                _setting("inbound_token"),
                _debug,
            )
        except AdapterError as e:
            raise _err(e) from None
        return t.WebhookOutcome(
            response=t.HttpResponse(status=status, headers=headers, body=body),
            events=[_event(event) for event in events],
        )

    def encode_send(self, message: t.OutboundMessage) -> t.HttpRequest:
        try:
            channel = send.Channel(
                webhook_url=_require("webhook_url"),
                secret=_require("secret"),
                integration_id=config.integration_id(),
            )
            msg = send.Message(
                id=message.id,
                conversation_id=message.conversation_id,
                customer_id=message.customer_id,
                text=message.text,
                attachments=[
                    send.Attachment(
                        kind=a.kind.name.lower(),
                        url=a.url,
                        media_id=a.media_id,
                        mime_type=a.mime_type,
                        filename=a.filename,
                        caption=a.caption,
                    )
                    for a in message.attachments
                ],
                author=message.author.name.lower(),
                author_name=message.author_name,
                in_reply_to=message.in_reply_to,
            )
            method, url, headers, body = send.encode(msg, channel, now_ms())
        except AdapterError as e:
            raise _err(e) from None
        return t.HttpRequest(method=method, url=url, headers=headers, body=body)

    def decode_send_response(self, message_id: str, response: t.HttpResponse) -> t.SendResult:
        outcome, detail = send.decode_response(
            message_id, response.status, response.headers, response.body, now_ms()
        )
        if outcome == "sent":
            return t.SendResult_Sent(detail)
        if outcome == "rate-limited":
            retry_at_ms, text = detail
            failure: t.SendFailure = t.SendFailure_RateLimited(
                t.RateLimit(retry_at_ms=retry_at_ms, detail=text)
            )
        elif outcome == "auth":
            failure = t.SendFailure_Auth(detail)
        elif outcome == "transient":
            failure = t.SendFailure_Transient(detail)
        else:
            failure = t.SendFailure_Permanent(detail)
        return t.SendResult_Failed(failure)

    def encode_mark_read(self, customer_id: str, message_id: str) -> Optional[t.HttpRequest]:
        # Open Messaging has no read call from the business side.
        return None
