// The webhook endpoint: POSTs of messages, receipts and typing events, as the Rust adapter
// answers them (plugins/open-messaging/src/webhook.rs).
//
// The middleware authenticates each POST with `X-Hub-Signature-256` or, when the integration
// sets `inbound_token`, with `Authorization: Bearer <inbound_token>`. The answer is `200` with
// the body as accepted: for a message, its `id`, `type` and `direction: "Inbound"` filled in.

import { decode } from './inbound.js';
import {
  emptyResponse,
  header,
  jsonResponse,
  malformed,
  signBase64,
  unauthorized,
  utf8,
  verifyBase64,
  verifyBase64OrHex,
} from './sdk.js';

/** The header that carries `sha256=<base64 HMAC-SHA256(secret, body)>`, both ways. */
export const SIGNATURE_HEADER = 'x-hub-signature-256';

const BEARER_KEY = utf8('switchboard-open-messaging-bearer');

/**
 * The largest body this adapter reads. Unlike the Rust adapter it has one: SHA-256 in plain
 * JavaScript runs in SpiderMonkey's interpreter inside the component at about 1.4 MB/s, so
 * authenticating the 1 MiB the host accepts by default would take most of a plugin call's 1 s
 * deadline (4 MiB takes 3 s). A body that fails its signature is hashed a second time in its
 * compact form, and a loaded machine runs several times slower: at 256 KiB a forged body ran
 * past the deadline in the fuzz suite. Open Messaging bodies are a few KiB of JSON (text and
 * attachment URLs), so one over 64 KiB (at most about 0.1 s of hashing) is refused as malformed
 * before any hashing.
 */
export const MAX_BODY_BYTES = 64 * 1024;

/**
 * Answers one request to the integration's webhook URL. `inboundToken` is the optional bearer
 * token accepted instead of a signature. Throws an `AdapterError`.
 */
export function handle(req, secret, inboundToken, debug = () => {}) {
  if (req.method !== 'POST') {
    throw malformed(
      `Open Messaging delivers by POST only (there is no handshake), not ${req.method}`,
    );
  }
  if (req.body.length > MAX_BODY_BYTES) {
    throw malformed(
      `the body has ${req.body.length} bytes; an Open Messaging body has at most ${MAX_BODY_BYTES}`,
    );
  }
  const bearer = inboundToken === undefined || inboundToken === '' ? undefined : inboundToken;
  if (bearer !== undefined && header(req.headers, SIGNATURE_HEADER) === undefined) {
    verifyBearer(req, bearer);
  } else {
    verifySignature(req, secret);
  }
  const events = decode(req.body, debug);
  return { response: accepted(req.body, events), events };
}

/** `Authorization: Bearer <token>`, compared in constant time (as HMACs of both values). */
function verifyBearer(req, token) {
  const value = header(req.headers, 'authorization');
  let presented;
  if (value !== undefined && (value.startsWith('Bearer ') || value.startsWith('bearer '))) {
    presented = value.slice('Bearer '.length);
  }
  if (presented === undefined) {
    throw unauthorized(
      `neither the ${SIGNATURE_HEADER} header nor an \`Authorization: Bearer\` token is present`,
    );
  }
  const expected = signBase64(BEARER_KEY, utf8(token));
  if (verifyBase64(BEARER_KEY, utf8(presented.trim()), expected) !== null) {
    throw unauthorized("the bearer token is not the integration's `inbound_token`");
  }
}

/** The `200` answer: the body as accepted, as Genesys answers with the normalized message. */
function accepted(body, events) {
  let value;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    return emptyResponse(200);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return emptyResponse(200);
  }
  if (events.length === 1 && events[0].tag === 'message') {
    const message = events[0].val;
    for (const [key, fill] of [['id', message.id], ['type', 'Text'], ['direction', 'Inbound']]) {
      if (!Object.hasOwn(value, key)) {
        value[key] = fill;
      }
    }
  }
  return jsonResponse(200, value);
}

/**
 * Checks the signature over the raw body. Genesys's own sample signs the re-serialized body
 * (`JSON.stringify` of the parsed JSON), so a body that fails as received is checked once more
 * in its compact form; base64 and hex digests are both accepted, as public middleware does.
 */
function verifySignature(req, secret) {
  const value = header(req.headers, SIGNATURE_HEADER);
  if (value === undefined) {
    throw unauthorized(`the ${SIGNATURE_HEADER} header is missing`);
  }
  const key = utf8(secret);
  let error = verifyBase64OrHex(key, req.body, value);
  if (error !== null) {
    const compact = compactJson(req.body);
    if (compact !== null) {
      error = verifyBase64OrHex(key, compact, value);
    }
  }
  if (error !== null) {
    throw unauthorized(`${SIGNATURE_HEADER}: ${error}`);
  }
}

/**
 * The body without the whitespace between JSON tokens (what `JSON.stringify` would produce for
 * the same keys in the same order), or `null` when there is none to remove.
 */
export function compactJson(body) {
  const out = new Uint8Array(body.length);
  let n = 0;
  let inString = false;
  let escaped = false;
  for (let i = 0; i < body.length; i++) {
    const byte = body[i];
    if (inString) {
      out[n++] = byte;
      if (escaped) {
        escaped = false;
      } else if (byte === 0x5c) {
        escaped = true;
      } else if (byte === 0x22) {
        inString = false;
      }
    } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) {
      inString = byte === 0x22;
      out[n++] = byte;
    }
  }
  return n === body.length ? null : out.subarray(0, n);
}
