"""Order status from an HTTP backend, as plugins/http-lookup (Rust) does.

`order-status` {order_id, base_url?} -> `GET {base_url}/orders/{order_id}`, answered with JSON
like `{"status": "shipped", "eta": "2025-06-01", "carrier": "DHL"}` ->
{found: "true"/"false", status, eta, carrier} (404 -> found "false").

The base URL is the kv key `config/base_url` when set (the admin's choice wins), else the
`base_url` input. Errors are `ActionFailure(kind, message)`, kind one of `not_found`,
`invalid_input`, `failed`; the HTTP call is passed in, so nothing here touches the network.
"""

import json
import re
from typing import Callable, Dict, List, Optional, Tuple

Fields = List[Tuple[str, str]]

ACTION = "order-status"
INPUTS = ["order_id", "base_url"]
OUTPUTS = ["found", "status", "eta", "carrier"]

_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class ActionFailure(Exception):
    """A typed action error: `kind` is `not_found`, `invalid_input` or `failed`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class HttpFailure(Exception):
    """The host's refusal: `kind` is `denied_host`, `timeout` or `failed`."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


def field(fields: Fields, name: str) -> Optional[str]:
    for key, value in fields:
        if key == name:
            return value
    return None


def valid_order_id(order_id: str) -> bool:
    """Order ids go into the URL path, so only a safe alphabet is accepted."""
    return _ORDER_ID.fullmatch(order_id) is not None


def order_url(base: str, order_id: str) -> str:
    return f"{base.rstrip('/')}/orders/{order_id}"


def base_url(kv_value: Optional[str], fields: Fields) -> str:
    for candidate in (kv_value, field(fields, "base_url")):
        if candidate is not None and candidate.strip() != "":
            return candidate.strip()
    raise ActionFailure(
        "invalid_input", "no base URL: set kv key `config/base_url` or pass input `base_url`"
    )


def read_response(status: int, body: bytes) -> Fields:
    """Maps the backend's answer to the action's outputs."""

    def outputs(found: str, order: Dict[str, object]) -> Fields:
        def text(key: str) -> str:
            value = order.get(key)
            return value if isinstance(value, str) else ""

        return [("found", found), ("status", text("status")), ("eta", text("eta")), ("carrier", text("carrier"))]

    if status == 200:
        try:
            order = json.loads(body)
        except (ValueError, RecursionError) as e:
            raise ActionFailure("failed", f"the order backend answered invalid JSON: {e}") from None
        if not isinstance(order, dict):
            raise ActionFailure("failed", "the order backend answered JSON that is not an object")
        return outputs("true", order)
    if status == 404:
        return outputs("false", {})
    raise ActionFailure("failed", f"the order backend answered HTTP {status}")


def order_status(
    fields: Fields,
    kv_get: Callable[[str], Optional[str]],
    get: Callable[[str], Tuple[int, bytes]],
) -> Fields:
    """The action: `get(url)` performs the request and returns (status, body) or raises HttpFailure."""
    order_id = field(fields, "order_id")
    if order_id is None or order_id.strip() == "":
        raise ActionFailure("invalid_input", "input `order_id` is required")
    order_id = order_id.strip()
    if not valid_order_id(order_id):
        raise ActionFailure(
            "invalid_input", f"order_id `{order_id[:80]}` may hold only letters, digits, `-` and `_`"
        )
    base = base_url(kv_get("config/base_url"), fields)
    try:
        status, body = get(order_url(base, order_id))
    except HttpFailure as e:
        if e.kind == "denied_host":
            raise ActionFailure("failed", f"denied host {e.detail}: it is not granted to this plugin") from None
        if e.kind == "timeout":
            raise ActionFailure("failed", "the order backend timed out") from None
        raise ActionFailure("failed", f"the order backend is unreachable: {e.detail}") from None
    return read_response(status, body)


def call(
    action: str,
    fields: Fields,
    kv_get: Callable[[str], Optional[str]],
    get: Callable[[str], Tuple[int, bytes]],
) -> Fields:
    if action == ACTION:
        return order_status(fields, kv_get, get)
    raise ActionFailure("not_found", action)
