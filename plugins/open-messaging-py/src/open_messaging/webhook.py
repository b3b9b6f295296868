"""The webhook endpoint: POSTs of messages, receipts and typing events, as the Rust adapter
answers them (plugins/open-messaging/src/webhook.rs).

The middleware authenticates each POST with `X-Hub-Signature-256` or, when the integration sets
`inbound_token`, with `Authorization: Bearer <inbound_token>`. The answer is `200` with the body
as accepted: for a message, its `id`, `type` and `direction: "Inbound"` filled in.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import inbound
from .sdk import (
    Headers,
    header,
    malformed,
    sign_base64,
    to_body,
    unauthorized,
    verify_base64,
    verify_base64_or_hex,
)

# The header that carries `sha256=<base64 HMAC-SHA256(secret, body)>`, both ways.
SIGNATURE_HEADER = "x-hub-signature-256"

_BEARER_KEY = b"switchboard-open-messaging-bearer"

Response = Tuple[int, List[Tuple[str, str]], bytes]


def handle(
    method: str,
    headers: Headers,
    body: bytes,
    secret: str,
    inbound_token: Optional[str],
    debug: Callable[[str], None] = lambda _: None,
) -> Tuple[Response, List[inbound.Event]]:
    """Answer one request: `((status, headers, body), events)`; raises `AdapterError`."""
    if method != "POST":
        raise malformed(f"Open Messaging delivers by POST only (there is no handshake), not {method}")
    bearer = inbound_token or None
    if bearer is not None and header(headers, SIGNATURE_HEADER) is None:
        _verify_bearer(headers, bearer)
    else:
        _verify_signature(headers, body, secret)
    events = inbound.decode(body, debug)
    return _accepted(body, events), events


def _verify_bearer(headers: Headers, token: str) -> None:
    """`Authorization: Bearer <token>`, compared in constant time (as HMACs of both values)."""
    value = header(headers, "authorization")
    presented = None
    if value is not None and (value.startswith("Bearer ") or value.startswith("bearer ")):
        presented = value[len("Bearer ") :]
    if presented is None:
        raise unauthorized(
            f"neither the {SIGNATURE_HEADER} header nor an `Authorization: Bearer` token is present"
        )
    expected = sign_base64(_BEARER_KEY, token.encode("utf-8"))
    if verify_base64(_BEARER_KEY, presented.strip().encode("utf-8"), expected) is not None:
        raise unauthorized("the bearer token is not the integration's `inbound_token`")


def _accepted(body: bytes, events: List[inbound.Event]) -> Response:
    """The `200` answer: the body as accepted, as Genesys answers with the normalized message."""
    try:
        value: Any = json.loads(body.decode("utf-8"))
    except ValueError:
        return 200, [], b""
    if not isinstance(value, dict):
        return 200, [], b""
    if len(events) == 1 and events[0][0] == "message":
        message: Dict[str, Any] = events[0][1]
        value.setdefault("id", message["id"])
        value.setdefault("type", "Text")
        value.setdefault("direction", "Inbound")
    return 200, [("content-type", "application/json")], to_body(value)


def _verify_signature(headers: Headers, body: bytes, secret: str) -> None:
    """Check the signature over the raw body. Genesys's own sample signs the re-serialized body
    (`JSON.stringify` of the parsed JSON), so a body that fails as received is checked once more
    in its compact form; base64 and hex digests are both accepted, as public middleware does."""
    value = header(headers, SIGNATURE_HEADER)
    if value is None:
        raise unauthorized(f"the {SIGNATURE_HEADER} header is missing")
    key = secret.encode("utf-8")
    error = verify_base64_or_hex(key, body, value)
    if error is not None:
        compact = compact_json(body)
        if compact is not None:
            error = verify_base64_or_hex(key, compact, value)
    if error is not None:
        raise unauthorized(f"{SIGNATURE_HEADER}: {error}")


# A JSON string (kept, escapes and all, to the end of the body when unterminated) or a run of
# whitespace between tokens (dropped).
_STRING_OR_SPACE = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*"?)|[ \t\n\r]+', re.DOTALL)


def compact_json(body: bytes) -> Optional[bytes]:
    """The body without the whitespace between JSON tokens (what `JSON.stringify` would produce
    for the same keys in the same order), or None when there is none to remove."""
    out = _STRING_OR_SPACE.sub(rb"\1", body)
    return None if len(out) == len(body) else out
