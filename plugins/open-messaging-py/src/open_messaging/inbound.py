"""Decoding of Open Messaging bodies into normalized events, as the Rust adapter does
(plugins/open-messaging/src/inbound.rs).

One flat body per POST, told apart by its fields:

- a receipt (`type: "Receipt"`, or a `status` without `type`): what happened to a message we
  sent; `id` is that message's id and `channel.to` the customer;
- a typing event (`events[]` with `eventType: "Typing"`) from `channel.from`;
- a message (`type: "Text"`, or no `type` with `text` / `content[]`) from `channel.from`,
  identified by `channel.messageId` (or the top-level `id`);
- anything with `direction: "Outbound"` is one of our own messages coming back (an echo).

A structured message (`type: "Structured"`) whose `content[]` has a `ButtonResponse` is the
customer choosing a quick reply: a message with `quick_reply` = its payload. Other kinds (unknown
types and event types) give no events.

Events are plain values here (the component entry point turns them into the WIT types):
`("message", {...})`, `("receipt", {...})`, `("typing", {...})`, with the WIT field names in
snake case and enum cases as strings.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

from .sdk import AdapterError, debug_string, malformed, parse_json, parse_rfc3339_ms

Event = Tuple[str, Dict[str, Any]]
Record = Dict[str, Any]


def decode(body: bytes, debug: Callable[[str], None] = lambda _: None) -> List[Event]:
    """Decode one webhook body into its events; raises `AdapterError` (malformed)."""
    doc = _read_body(parse_json(body))
    kind = doc["type"]
    if kind == "Receipt" or (kind is None and doc["status"] is not None):
        return [("receipt", _receipt(doc))]
    if doc["direction"] == "Outbound":
        return []
    if doc["events"] is not None:
        return _typing(doc)
    if kind in ("Text", "Structured", None):
        return [("message", _message(doc))]
    debug(f"ignoring Open Messaging body of type `{kind}`")
    return []


# --- the shape of a body ----------------------------------------------------------------------
#
# Every field is optional, `null` counts as absent, unknown fields are ignored; a field of the
# wrong type makes the body malformed, as a typed decoder would.


def _shape_error(path: str, expected: str) -> AdapterError:
    return malformed(f"the JSON body has an unexpected shape: `{path}` must be {expected}")


def _object(value: Any, path: str) -> Record:
    if not isinstance(value, dict):
        raise _shape_error(path, "an object")
    return value


def _strings(obj: Record, path: str, keys: List[str]) -> Record:
    out: Record = {}
    for key in keys:
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise _shape_error(path + key, "a string")
        out[key] = value
    return out


def _opt_record(obj: Record, key: str, path: str, read: Callable[[Record, str], Record]) -> Optional[Record]:
    value = obj.get(key)
    if value is None:
        return None
    return read(_object(value, path + key), f"{path}{key}.")


def _opt_list(obj: Record, key: str, path: str, read: Callable[[Record, str], Record]) -> Optional[List[Record]]:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _shape_error(path + key, "an array")
    return [read(_object(item, f"{path}{key}[{i}]"), f"{path}{key}[{i}].") for i, item in enumerate(value)]


def _read_body(value: Any) -> Record:
    obj = _object(value, "the body")
    doc = _strings(obj, "", ["id", "type", "text", "direction", "status"])
    # `channel` defaults to an empty one when absent (but not when `null`).
    doc["channel"] = _read_channel(_object(obj["channel"], "channel"), "channel.") if "channel" in obj else _read_channel({}, "channel.")
    doc["content"] = _opt_list(obj, "content", "", _read_content)
    doc["reasons"] = _opt_list(obj, "reasons", "", lambda o, p: _strings(o, p, ["code", "message"]))
    doc["events"] = _opt_list(obj, "events", "", lambda o, p: _strings(o, p, ["eventType"]))
    return doc


def _read_channel(obj: Record, path: str) -> Record:
    channel = _strings(obj, path, ["messageId", "time"])
    channel["from"] = _opt_record(obj, "from", path, _read_party)
    channel["to"] = _opt_record(obj, "to", path, _read_party)
    return channel


def _read_party(obj: Record, path: str) -> Record:
    return _strings(obj, path, ["id", "nickname", "firstName", "lastName", "image", "email"])


def _read_content(obj: Record, path: str) -> Record:
    content = _strings(obj, path, ["contentType"])
    content["attachment"] = _opt_record(
        obj,
        "attachment",
        path,
        lambda o, p: _strings(o, p, ["id", "mediaType", "url", "mime", "filename", "text"]),
    )
    content["buttonResponse"] = _opt_record(
        obj, "buttonResponse", path, lambda o, p: _strings(o, p, ["type", "text", "payload"])
    )
    return content


# --- events -------------------------------------------------------------------------------------


def _message(doc: Record) -> Record:
    timestamp_ms = _channel_time(doc["channel"])
    sender = doc["channel"]["from"]
    if sender is None:
        raise _missing("channel.from.id")
    customer_id = _non_empty(sender["id"])
    if customer_id is None:
        raise _missing("channel.from.id")
    message_id = _non_empty(doc["channel"]["messageId"]) or _non_empty(doc["id"])
    if message_id is None:
        raise _missing("channel.messageId")
    text = _non_empty(doc["text"])
    attachments = [
        _attachment(content["attachment"])
        for content in doc["content"] or []
        if content["contentType"] == "Attachment" and content["attachment"] is not None
    ]
    # A structured reply: the quick reply or button the customer chose, by its payload.
    quick_reply = None
    chosen = next(
        (c for c in doc["content"] or [] if c["contentType"] == "ButtonResponse"), None
    )
    if chosen is not None:
        if chosen["buttonResponse"] is None:
            raise _missing("content[].buttonResponse")
        label = _non_empty(chosen["buttonResponse"]["text"])
        quick_reply = _non_empty(chosen["buttonResponse"]["payload"]) or label
        text = text or label
    if text is None and not attachments and quick_reply is None:
        raise malformed("a message needs `text`, an attachment or a button response in `content`")
    return {
        "id": message_id,
        "customer_id": customer_id,
        "timestamp_ms": timestamp_ms,
        "text": text,
        "attachments": attachments,
        "quick_reply": quick_reply,
        "profile": _profile(sender),
        "kind": "direct",
        "reply_to": None,
        "reaction": None,
    }


_STATUSES = {
    "Sent": "sent",
    "Published": "sent",
    "Delivered": "delivered",
    "Read": "read",
    "Failed": "failed",
    "Removed": "failed",
}


def _receipt(doc: Record) -> Record:
    timestamp_ms = _channel_time(doc["channel"])
    message_id = _non_empty(doc["id"]) or _non_empty(doc["channel"]["messageId"])
    if message_id is None:
        raise _missing("id")
    # The receipt is about a message to the customer; accept a sender that names them in `from`.
    parties = [doc["channel"]["to"], doc["channel"]["from"]]
    customer_id = next(
        (i for i in (_non_empty(p["id"]) for p in parties if p is not None) if i is not None), None
    )
    if customer_id is None:
        raise _missing("channel.to.id")
    status_text = doc["status"] or ""
    if status_text == "":
        raise _missing("status")
    if status_text not in _STATUSES:
        raise malformed(
            f"`status` {debug_string(status_text)} is not one of Sent, Delivered, Read, Failed, Published, Removed"
        )
    status = _STATUSES[status_text]
    reasons = []
    for reason in doc["reasons"] or []:
        code, message = reason["code"], reason["message"]
        if code is not None and message is not None:
            reasons.append(f"{code}: {message}")
        elif code is not None or message is not None:
            reasons.append(code if code is not None else message)
    reason_text = None
    if status == "failed":
        reason_text = "; ".join(reasons) if reasons else status_text
    return {
        "message_id": message_id,
        "customer_id": customer_id,
        "status": status,
        "reason": reason_text,
        "timestamp_ms": timestamp_ms,
    }


def _typing(doc: Record) -> List[Event]:
    if not any(event["eventType"] == "Typing" for event in doc["events"]):
        return []
    timestamp_ms = _channel_time(doc["channel"])
    sender = doc["channel"]["from"]
    customer_id = None if sender is None else _non_empty(sender["id"])
    if customer_id is None:
        raise _missing("channel.from.id")
    # Several typing events in one body say the same thing; one is enough.
    return [("typing", {"customer_id": customer_id, "timestamp_ms": timestamp_ms})]


def _channel_time(channel: Record) -> int:
    text = channel["time"]
    if text is None:
        raise _missing("channel.time")
    ms = parse_rfc3339_ms(text)
    if ms is None:
        raise malformed(
            "`channel.time` must be an ISO-8601 time such as 2026-09-01T10:15:00.000Z, "
            f"not {debug_string(text)}"
        )
    return ms


_MEDIA_TYPES = {"Image": "image", "Video": "video", "Audio": "audio", "File": "file", "Link": "link"}


def _attachment(a: Record) -> Record:
    return {
        "kind": _MEDIA_TYPES.get(a["mediaType"] or "", "other"),
        "url": _non_empty(a["url"]),
        "media_id": _non_empty(a["id"]),
        "mime_type": _non_empty(a["mime"]),
        "filename": _non_empty(a["filename"]),
        "caption": _non_empty(a["text"]),
    }


def _profile(sender: Record) -> Record:
    """The display name is the nickname, else the first and last names."""
    names = [n for n in (_non_empty(sender["firstName"]), _non_empty(sender["lastName"])) if n is not None]
    return {
        "display_name": _non_empty(sender["nickname"]) or _non_empty(" ".join(names)),
        "handle": None,
        "verified": None,
        "followers": None,
        "posts": None,
        "avatar_url": _non_empty(sender["image"]),
        "email": _non_empty(sender["email"]),
    }


def _non_empty(value: Optional[str]) -> Optional[str]:
    return None if value is None or value.strip() == "" else value


def _missing(field: str) -> AdapterError:
    return malformed(f"the body lacks `{field}`")
