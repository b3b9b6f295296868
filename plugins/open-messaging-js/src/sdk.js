// The helpers the Rust adapters take from switchboard-sdk, for JavaScript: adapter errors,
// signatures, JSON bodies, RFC 3339 times and HTTP odds and ends. Pure functions only, so that
// `node --test` runs them natively.

import { base64Decode, base64Encode, constantTimeEqual, hexDecode, hexEncode, hmacSha256 } from './crypto.js';

const encoder = new TextEncoder();

export function utf8(text) {
  return encoder.encode(text);
}

/**
 * An `adapter-error`, thrown. The component bindings take a thrown object's `payload` as the
 * `err` side of the function's `result`.
 */
export class AdapterError {
  constructor(tag, message) {
    this.payload = { tag, val: message };
  }

  get tag() {
    return this.payload.tag;
  }

  get message() {
    return this.payload.val;
  }

  toString() {
    return `${this.payload.tag}: ${this.payload.val}`;
  }
}

export const unauthorized = (message) => new AdapterError('unauthorized', message);
export const malformed = (message) => new AdapterError('malformed', message);
export const misconfigured = (message) => new AdapterError('misconfigured', message);

// --- signatures ---------------------------------------------------------------------------

export const PREFIX = 'sha256=';

/** `sha256=<base64 HMAC-SHA256(key, message)>`. */
export function signBase64(key, message) {
  return PREFIX + base64Encode(hmacSha256(key, message));
}

/** `sha256=<hex HMAC-SHA256(key, message)>`. */
export function signHex(key, message) {
  return PREFIX + hexEncode(hmacSha256(key, message));
}

/** The signature without its optional, case-insensitive `sha256=` prefix. */
export function stripPrefix(value) {
  const trimmed = value.trim();
  return trimmed.slice(0, PREFIX.length).toLowerCase() === PREFIX
    ? trimmed.slice(PREFIX.length)
    : trimmed;
}

/** Why a signature was refused, or `null` when it matches. */
export function verifyBase64(key, message, signature) {
  const digest = base64Decode(stripPrefix(signature));
  if (digest === null) {
    return 'the signature is not valid base64';
  }
  return verifyDigest(key, message, digest);
}

/** Like `verifyBase64`, also taking 64 hex digits (Meta style). */
export function verifyBase64OrHex(key, message, signature) {
  const text = stripPrefix(signature).trim();
  const digest =
    text.length === 64 && /^[0-9a-fA-F]+$/.test(text) ? hexDecode(text) : base64Decode(text);
  if (digest === null) {
    return 'the signature is not valid base64 or hex';
  }
  return verifyDigest(key, message, digest);
}

function verifyDigest(key, message, digest) {
  return constantTimeEqual(hmacSha256(key, message), digest)
    ? null
    : 'the signature does not match the body and secret';
}

// --- JSON -----------------------------------------------------------------------------------

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');

function isAsciiWhitespace(byte) {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0c || byte === 0x0d;
}

/** Parses a JSON body; an empty, non-UTF-8 or invalid body is `malformed`. */
export function parseJson(body) {
  if (body.every(isAsciiWhitespace)) {
    throw malformed('the body is empty; expected JSON');
  }
  let text;
  try {
    text = strictUtf8.decode(body);
  } catch {
    throw malformed('the body is not valid JSON: it is not UTF-8');
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw malformed(`the body is not valid JSON: ${e.message}`);
  }
  // `\ud800` alone parses, but is no Unicode text (a strict parser refuses it); JSON.stringify
  // writes such a lone surrogate back as an escape, and nothing else in that range.
  if (SURROGATE_ESCAPE.test(text) && LONE_SURROGATE.test(JSON.stringify(value))) {
    throw malformed('the body is not valid JSON: a string has a lone surrogate');
  }
  return value;
}

const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const LONE_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

/** Compact JSON bytes. */
export function toBody(value) {
  return utf8(JSON.stringify(value));
}

// --- time -------------------------------------------------------------------------------------

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

function daysInMonth(year, month) {
  if (month === 2) {
    return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  }
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Milliseconds since the Unix epoch of an RFC 3339 time (`2026-09-01T10:15:00.000Z`, any
 * number of fraction digits, `Z` or `±hh:mm`), or `null`. Times before 1970 are `null`.
 */
export function parseRfc3339Ms(text) {
  const m = RFC3339.exec(text);
  if (!m) {
    return null;
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const millis = m[7] === undefined ? 0 : Number((m[7] + '00').slice(0, 3));
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const hours = Number(m[10]);
    const minutes = Number(m[11]);
    if (hours > 23 || minutes > 59) {
      return null;
    }
    offsetMinutes = (hours * 60 + minutes) * (m[9] === '-' ? -1 : 1);
  }
  if (
    month < 1 || month > 12 || day === 0 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 60
  ) {
    return null;
  }
  const days = Math.floor(Date.UTC(year, month - 1, day) / 86_400_000);
  const seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offsetMinutes * 60;
  if (seconds < 0) {
    return null;
  }
  return BigInt(seconds) * 1000n + BigInt(millis);
}

/** `2026-09-01T10:20:00.123Z` for milliseconds since the epoch (a BigInt or number). */
export function formatRfc3339Ms(epochMs) {
  return new Date(Number(epochMs)).toISOString();
}

/** The wall clock in milliseconds since the epoch, as a BigInt. */
export function nowMs() {
  return BigInt(Date.now());
}

// --- HTTP -------------------------------------------------------------------------------------

/** The first header named `name` (any case), or `undefined`. */
export function header(headers, name) {
  const wanted = name.toLowerCase();
  const found = headers.find(([key]) => key.toLowerCase() === wanted);
  return found === undefined ? undefined : found[1];
}

/** The body as text, trimmed and cut to `maxChars` characters with `…`. */
export function bodyExcerpt(body, maxChars) {
  const text = lossyUtf8.decode(body).trim();
  const chars = Array.from(text);
  return chars.length > maxChars ? chars.slice(0, maxChars).join('') + '…' : text;
}

const U64_MAX = (1n << 64n) - 1n;

/** When a `Retry-After: <seconds>` header allows the next call, in epoch ms (BigInt). */
export function retryAfterMs(headers, nowMs) {
  const value = header(headers, 'retry-after');
  if (value === undefined || !/^\+?\d+$/.test(value.trim())) {
    return undefined;
  }
  const seconds = BigInt(value.trim());
  if (seconds > U64_MAX) {
    return undefined;
  }
  const at = nowMs + seconds * 1000n;
  return at > U64_MAX ? U64_MAX : at;
}

export function jsonResponse(status, value) {
  return { status, headers: [['content-type', 'application/json']], body: toBody(value) };
}

export function emptyResponse(status) {
  return { status, headers: [], body: new Uint8Array(0) };
}
