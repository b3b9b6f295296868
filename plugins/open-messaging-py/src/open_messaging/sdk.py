"""The helpers the Rust adapters take from switchboard-sdk, for Python: adapter errors,
signatures, JSON bodies, RFC 3339 times and HTTP odds and ends.

Plain functions on plain values (no component bindings), so that the unit tests run natively.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence, Tuple

Headers = Sequence[Tuple[str, str]]


@dataclass
class AdapterError(Exception):
    """An `adapter-error`: `kind` is `unauthorized`, `malformed` or `misconfigured`."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def unauthorized(message: str) -> AdapterError:
    return AdapterError("unauthorized", message)


def malformed(message: str) -> AdapterError:
    return AdapterError("malformed", message)


def misconfigured(message: str) -> AdapterError:
    return AdapterError("misconfigured", message)


# --- signatures ---------------------------------------------------------------------------

PREFIX = "sha256="


_BLOCK = 64
_INNER = bytes(x ^ 0x36 for x in range(256))
_OUTER = bytes(x ^ 0x5C for x in range(256))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104) over `hashlib.sha256`. Not `hmac.new`: in the component's Python
    (3.14, wasm32-wasip2) its built-in HACL* HMAC traps with `unreachable`; the plain hash
    works, and this is the whole of HMAC."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(key.translate(_INNER))
    inner.update(message)
    return hashlib.sha256(key.translate(_OUTER) + inner.digest()).digest()


def sign_base64(key: bytes, message: bytes) -> str:
    """`sha256=<base64 HMAC-SHA256(key, message)>`."""
    return PREFIX + base64.b64encode(hmac_sha256(key, message)).decode("ascii")


def sign_hex(key: bytes, message: bytes) -> str:
    return PREFIX + hmac_sha256(key, message).hex()


def strip_prefix(value: str) -> str:
    """The signature without its optional, case-insensitive `sha256=` prefix."""
    value = value.strip()
    return value[len(PREFIX) :] if value[: len(PREFIX)].lower() == PREFIX else value


_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def base64_decode(text: str) -> Optional[bytes]:
    """Standard base64 with canonical padding (no stray characters, zero trailing bits)."""
    if not _BASE64.match(text):
        return None
    try:
        decoded = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    # Non-zero trailing bits decode too; a canonical encoding round-trips.
    return decoded if base64.b64encode(decoded).decode("ascii") == text else None


def verify_base64(key: bytes, message: bytes, signature: str) -> Optional[str]:
    """Why the signature was refused, or None when it matches."""
    digest = base64_decode(strip_prefix(signature))
    if digest is None:
        return "the signature is not valid base64"
    return _verify_digest(key, message, digest)


def verify_base64_or_hex(key: bytes, message: bytes, signature: str) -> Optional[str]:
    """Like `verify_base64`, also taking 64 hex digits."""
    text = strip_prefix(signature).strip()
    digest = bytes.fromhex(text) if _HEX64.match(text) else base64_decode(text)
    if digest is None:
        return "the signature is not valid base64 or hex"
    return _verify_digest(key, message, digest)


def _verify_digest(key: bytes, message: bytes, digest: bytes) -> Optional[str]:
    if hmac.compare_digest(hmac_sha256(key, message), digest):
        return None
    return "the signature does not match the body and secret"


# --- JSON -----------------------------------------------------------------------------------


def parse_json(body: bytes) -> Any:
    """Parses a JSON body; an empty, non-UTF-8 or invalid body is `malformed`."""
    if not body.strip(b" \t\n\x0c\r"):
        raise malformed("the body is empty; expected JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise malformed("the body is not valid JSON: it is not UTF-8") from None
    too_deep = _nesting_error(body)
    if too_deep is not None:
        raise malformed(f"the body is not valid JSON: {too_deep}")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise malformed(f"the body is not valid JSON: {e}") from None
    # `\ud800` alone is valid to Python's parser but is no Unicode text (a strict parser refuses it).
    if _SURROGATE_ESCAPE.search(text):
        try:
            to_body(value)
        except UnicodeEncodeError:
            raise malformed("the body is not valid JSON: a string has a lone surrogate") from None
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")

# serde_json's limit, which the Rust adapters answer with.
MAX_NESTING = 128
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]+")
_INNERMOST = re.compile(rb"\[\]|\{\}")


def _nesting_error(body: bytes) -> Optional[str]:
    """Why the body's arrays and objects nest too deep to parse, or None. Python's parser
    recurses once per level, and in a component the native stack runs out before its
    `RecursionError`: a deep body would trap the adapter instead of being refused. Each pass of
    regular expressions (no Python loop over the body) removes the innermost pairs, so `n`
    passes clear nesting up to `n` levels."""
    if body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return None
    brackets = _NOT_A_BRACKET.sub(b"", _JSON_STRING.sub(b"", body))
    for _ in range(MAX_NESTING):
        if not brackets:
            return None
        fewer = _INNERMOST.sub(b"", brackets)
        if len(fewer) == len(brackets):
            return "its brackets do not pair up"
        brackets = fewer
    return None if not brackets else f"arrays and objects nest deeper than {MAX_NESTING} levels"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def to_body(value: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def debug_string(text: str) -> str:
    """`text` quoted, as the Rust adapter quotes values in messages."""
    return json.dumps(text, ensure_ascii=False)


# --- time -------------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))",
    re.ASCII,
)


def parse_rfc3339_ms(text: str) -> Optional[int]:
    """Milliseconds since the epoch of an RFC 3339 time, or None (also before 1970)."""
    m = _RFC3339.fullmatch(text)
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    millis = int((m.group(7) + "00")[:3]) if m.group(7) else 0
    offset = 0
    if m.group(9):
        hours, minutes = int(m.group(10)), int(m.group(11))
        if hours > 23 or minutes > 59:
            return None
        offset = (hours * 60 + minutes) * (-1 if m.group(9) == "-" else 1)
    if not 1 <= month <= 12 or year == 0:
        return None
    if day == 0 or day > calendar.monthrange(year, month)[1]:
        return None
    if hour > 23 or minute > 59 or second > 60:
        return None
    days = calendar.timegm((year, month, day, 0, 0, 0)) // 86_400
    seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset * 60
    return None if seconds < 0 else seconds * 1_000 + millis


def format_rfc3339_ms(epoch_ms: int) -> str:
    """`2026-09-01T10:20:00.123Z`."""
    seconds, millis = divmod(epoch_ms, 1_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- HTTP -------------------------------------------------------------------------------------

U64_MAX = (1 << 64) - 1


def header(headers: Headers, name: str) -> Optional[str]:
    """The first header named `name` (any case), or None."""
    name = name.lower()
    return next((value for key, value in headers if key.lower() == name), None)


def body_excerpt(body: bytes, max_chars: int) -> str:
    """The body as text, trimmed and cut to `max_chars` characters with `…`."""
    text = body.decode("utf-8", errors="replace").strip()
    return text[:max_chars] + "…" if len(text) > max_chars else text


def retry_after_ms(headers: Headers, now: int) -> Optional[int]:
    """When a `Retry-After: <seconds>` header allows the next call, in epoch ms."""
    value = header(headers, "retry-after")
    if value is None or not re.fullmatch(r"\+?[0-9]+", value.strip()):
        return None
    seconds = int(value.strip())
    if seconds > U64_MAX:
        return None
    return min(now + seconds * 1_000, U64_MAX)
