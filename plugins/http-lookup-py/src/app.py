"""The order-status data action in Python: the `switchboard:flow@0.1.0` world
`data-action-plugin`, componentized with componentize-py. It behaves as plugins/http-lookup (Rust)
does and passes the same compliance profile (plugins/http-lookup/fixtures/check.toml).

This module only translates between the WIT types and the plain values of `http_lookup.orders`.
"""

from typing import List, Optional, Tuple

from componentize_py_types import Err

from wit_world import exports
from wit_world.imports import http, kv
from wit_world.imports import types as t

from http_lookup import orders


def _kv_get(key: str) -> Optional[str]:
    return kv.get(key)


def _get(url: str) -> Tuple[int, bytes]:
    request = t.HttpRequest(method="GET", url=url, headers=[("accept", "application/json")], body=b"")
    try:
        response = http.fetch(request)
    except Err as e:
        error = e.value
        if isinstance(error, t.HttpError_DeniedHost):
            raise orders.HttpFailure("denied_host", error.value) from None
        if isinstance(error, t.HttpError_Timeout):
            raise orders.HttpFailure("timeout") from None
        raise orders.HttpFailure("failed", getattr(error, "value", "")) from None
    return response.status, bytes(response.body)


class DataAction(exports.DataAction):
    def describe(self) -> List[t.ActionInfo]:
        return [t.ActionInfo(name=orders.ACTION, inputs=list(orders.INPUTS), outputs=list(orders.OUTPUTS))]

    def call(self, action: str, input: List[Tuple[str, str]]) -> List[Tuple[str, str]]:
        try:
            return orders.call(action, input, _kv_get, _get)
        except orders.ActionFailure as e:
            variant = {
                "not_found": t.ActionError_NotFound,
                "invalid_input": t.ActionError_InvalidInput,
                "failed": t.ActionError_Failed,
            }[e.kind]
            raise Err(variant(e.message)) from None
        except Exception as e:  # A bug is a typed failure, never a trap.
            raise Err(t.ActionError_Failed(f"http-lookup-py failed: {type(e).__name__}: {e}")) from None
