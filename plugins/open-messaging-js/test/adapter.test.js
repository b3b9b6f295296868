// Native tests of the pure modules (`npm test`): the same vectors and fixtures as the Rust
// adapter's unit tests. The component itself is checked by tests/tests/compliance.rs.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { base64Decode, base64Encode, hexEncode, hmacSha256, sha256 } from '../src/crypto.js';
import { decode } from '../src/inbound.js';
import { formatRfc3339Ms, parseRfc3339Ms, signBase64, signHex, utf8 } from '../src/sdk.js';
import { decodeResponse, encode } from '../src/send.js';
import { MAX_BODY_BYTES, SIGNATURE_HEADER, compactJson, handle } from '../src/webhook.js';

const fixture = (name) =>
  new Uint8Array(readFileSync(new URL(`../../open-messaging/fixtures/${name}`, import.meta.url)));

const SECRET = 'fixture-genesys-secret';
const BODY = utf8('{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}');
const BODY_SIGNATURE = 'sha256=klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM=';

const post = (headers, body) => ({ method: 'POST', path: '/webhooks/om', query: '', headers, body });
const refusal = (fn) => {
  try {
    fn();
  } catch (e) {
    return e.payload;
  }
  assert.fail('expected an adapter error');
};

test('SHA-256 and HMAC-SHA256 match the standard vectors', () => {
  assert.equal(
    hexEncode(sha256(utf8(''))),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  );
  assert.equal(
    hexEncode(sha256(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
  const million = new Uint8Array(1_000_000).fill(0x61);
  assert.equal(
    hexEncode(sha256(million)),
    'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  );
  // RFC 4231 test case 2 and 6 (a key longer than a block).
  assert.equal(
    hexEncode(hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?'))),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  );
  assert.equal(
    hexEncode(
      hmacSha256(new Uint8Array(131).fill(0xaa), utf8('Test Using Larger Than Block-Size Key - Hash Key First')),
    ),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  );
});

test('base64 is strict about padding and trailing bits', () => {
  for (const n of [0, 1, 2, 3, 4, 5, 32]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
    assert.deepEqual(base64Decode(base64Encode(bytes)), bytes);
  }
  assert.equal(base64Decode('QQ'), null);
  assert.equal(base64Decode('QR=='), null);
  assert.equal(base64Decode('Q==='), null);
  assert.equal(base64Decode('not base64!'), null);
  assert.deepEqual(base64Decode('AAAA'), new Uint8Array(3));
});

test('signs and accepts the reference vector, refuses the rest', () => {
  assert.equal(signBase64(utf8(SECRET), BODY), BODY_SIGNATURE);
  const echo = handle(post([[SIGNATURE_HEADER, BODY_SIGNATURE]], BODY), SECRET);
  assert.equal(echo.response.status, 200);
  assert.deepEqual(echo.events, []);
  // Hex, and a signature of the compact body received pretty-printed.
  assert.ok(handle(post([[SIGNATURE_HEADER, signHex(utf8(SECRET), BODY)]], BODY), SECRET));
  const pretty = utf8('{\n  "id": "msg-0001",\n  "type": "Text",\n  "text": "hi",\n  "direction": "Outbound"\n}');
  assert.ok(handle(post([[SIGNATURE_HEADER, BODY_SIGNATURE]], pretty), SECRET));
  const spaced = utf8('{"id":"msg-0001","type":"Text","text":"h i","direction":"Outbound"}');
  assert.equal(refusal(() => handle(post([[SIGNATURE_HEADER, BODY_SIGNATURE]], spaced), SECRET)).tag, 'unauthorized');

  assert.deepEqual(refusal(() => handle(post([], BODY), SECRET)), {
    tag: 'unauthorized',
    val: 'the x-hub-signature-256 header is missing',
  });
  assert.deepEqual(refusal(() => handle(post([[SIGNATURE_HEADER, 'sha256=%%%']], BODY), SECRET)), {
    tag: 'unauthorized',
    val: 'x-hub-signature-256: the signature is not valid base64 or hex',
  });
  const tampered = utf8('{"id":"msg-0002","type":"Text","text":"hi","direction":"Outbound"}');
  assert.deepEqual(refusal(() => handle(post([[SIGNATURE_HEADER, BODY_SIGNATURE]], tampered), SECRET)), {
    tag: 'unauthorized',
    val: 'x-hub-signature-256: the signature does not match the body and secret',
  });
  assert.equal(refusal(() => handle(post([[SIGNATURE_HEADER, BODY_SIGNATURE]], BODY), 'other')).tag, 'unauthorized');
  assert.equal(refusal(() => handle({ ...post([], BODY), method: 'GET' }, SECRET)).tag, 'malformed');
  // Oversized bodies are refused before any hashing, signed or not.
  const big = utf8(`{"text":"${'a'.repeat(MAX_BODY_BYTES)}"}`);
  assert.equal(refusal(() => handle(post([[SIGNATURE_HEADER, signBase64(utf8(SECRET), big)]], big), SECRET)).tag, 'malformed');
  assert.equal(refusal(() => handle(post([], big), SECRET)).tag, 'malformed');
});

test('a bearer token stands in for the signature only when configured', () => {
  const body = fixture('inbound-message.json');
  const bearer = post([['Authorization', 'Bearer fixture-inbound-token']], body);
  assert.equal(handle(bearer, SECRET, 'fixture-inbound-token').events.length, 1);
  assert.deepEqual(refusal(() => handle(post([['authorization', 'Bearer guessed']], body), SECRET, 'fixture-inbound-token')), {
    tag: 'unauthorized',
    val: "the bearer token is not the integration's `inbound_token`",
  });
  assert.match(refusal(() => handle(post([], body), SECRET, 'fixture-inbound-token')).val, /Bearer/);
  assert.equal(refusal(() => handle(bearer, SECRET, undefined)).val, 'the x-hub-signature-256 header is missing');
});

test('decodes the fixtures to the same events as the Rust adapter', () => {
  const signed = (name) => {
    const body = fixture(name);
    return handle(post([[SIGNATURE_HEADER, signBase64(utf8(SECRET), body)]], body), SECRET);
  };
  const chosen = signed('inbound-structured.json').events[0].val;
  assert.equal(chosen.quickReply, 'billing');
  assert.equal(chosen.text, 'Billing');
  assert.equal(chosen.customerId, 'cust-42');
  const message = signed('inbound-message.json');
  assert.deepEqual(message.events, [
    {
      tag: 'message',
      val: {
        id: 'ext-msg-000123',
        customerId: 'cust-42',
        timestampMs: 1_788_257_700_000n,
        text: 'Hi, I need help with order 88-431',
        attachments: [],
        quickReply: undefined,
        profile: {
          displayName: 'Dana',
          handle: undefined,
          verified: undefined,
          followers: undefined,
          posts: undefined,
          avatarUrl: undefined,
          email: undefined,
        },
        kind: 'direct',
        replyTo: undefined,
        reaction: undefined,
      },
    },
  ]);
  const answer = JSON.parse(new TextDecoder().decode(message.response.body));
  assert.equal(answer.id, 'ext-msg-000123');
  assert.equal(answer.type, 'Text');
  assert.equal(answer.direction, 'Inbound');

  const [attachment] = signed('inbound-attachment.json').events;
  assert.equal(attachment.val.timestampMs, 1_788_257_760_000n);
  assert.deepEqual(attachment.val.attachments, [
    {
      kind: 'image',
      url: 'https://files.example.invalid/label.jpg',
      mediaId: undefined,
      mimeType: 'image/jpeg',
      filename: 'label.jpg',
      caption: undefined,
    },
  ]);
  assert.deepEqual(signed('receipt-delivered.json').events, [
    {
      tag: 'receipt',
      val: { messageId: 'sb-msg-0001', customerId: 'cust-42', status: 'delivered', reason: undefined, timestampMs: 1_788_258_001_000n },
    },
  ]);
  assert.equal(
    signed('receipt-failed.json').events[0].val.reason,
    "MessageExpired: Recipient's 24h window on the far-end channel is closed",
  );
  assert.equal(signed('receipt-sent.json').events[0].val.status, 'sent');
  assert.deepEqual(signed('typing.json').events, [
    { tag: 'typing', val: { customerId: 'cust-42', timestampMs: 1_788_257_820_000n } },
  ]);
  assert.deepEqual(signed('outbound-echo.json').events, []);
});

test('names what is missing or malformed', () => {
  const malformed = (text) => refusal(() => decode(utf8(text))).val;
  assert.equal(malformed(''), 'the body is empty; expected JSON');
  assert.match(malformed('{"channel":'), /^the body is not valid JSON/);
  assert.match(malformed('{"text":5}'), /^the JSON body has an unexpected shape/);
  assert.equal(malformed('{"text":"\\ud800"}'), 'the body is not valid JSON: a string has a lone surrogate');
  assert.equal(decode(utf8('{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"text":"\\ud83d\\ude00"}'))[0].val.text, '\u{1f600}');
  assert.equal(decode(utf8('{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"text":"\\\\ud800"}'))[0].val.text, '\\ud800');
  assert.equal(malformed('{"channel":{"messageId":"m","from":{"id":"c"}},"text":"hi"}'), 'the body lacks `channel.time`');
  assert.match(malformed('{"channel":{"messageId":"m","from":{"id":"c"},"time":"yesterday"},"text":"hi"}'), /^`channel.time` must be an ISO-8601 time/);
  assert.equal(malformed('{"channel":{"messageId":"m","time":"2026-09-01T10:15:00Z"},"text":"hi"}'), 'the body lacks `channel.from.id`');
  assert.equal(malformed('{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"text":"hi"}'), 'the body lacks `channel.messageId`');
  assert.equal(
    malformed('{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"Text","text":" "}'),
    'a message needs `text`, an attachment or a button response in `content`',
  );
  assert.equal(malformed('{"type":"Receipt","status":"Delivered","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}'), 'the body lacks `id`');
  assert.match(malformed('{"id":"m","type":"Receipt","status":"Lost","channel":{"to":{"id":"c"},"time":"2026-09-01T10:15:00Z"}}'), /"Lost" is not one of/);
  assert.deepEqual(decode(utf8('{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"FutureKind"}')), []);
  assert.equal(
    malformed('{"channel":{"messageId":"m","from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"type":"Structured","content":[{"contentType":"ButtonResponse"}]}'),
    'the body lacks `content[].buttonResponse`',
  );
  assert.deepEqual(decode(utf8('{"channel":{"from":{"id":"c"},"time":"2026-09-01T10:15:00Z"},"events":[{"eventType":"Presence"}]}')), []);
});

test('parses and formats RFC 3339 times as the SDK does', () => {
  assert.equal(parseRfc3339Ms('2026-09-01T10:15:00.000Z'), 1_788_257_700_000n);
  assert.equal(parseRfc3339Ms('2026-09-01T12:15:00.5+02:00'), 1_788_257_700_500n);
  assert.equal(parseRfc3339Ms('2026-02-29T00:00:00Z'), null);
  assert.equal(parseRfc3339Ms('1969-12-31T23:59:59Z'), null);
  assert.equal(parseRfc3339Ms('2026-09-01T10:15:00'), null);
  assert.equal(formatRfc3339Ms(1_788_258_000_123n), '2026-09-01T10:20:00.123Z');
});

const CHANNEL = {
  webhookUrl: 'https://middleware.example.invalid/genesys/outbound',
  secret: SECRET,
  integrationId: '3f1c2d4e-0000-4000-8000-00000000a001',
};
const NOW_MS = 1_788_258_000_123n;
const outbound = () => ({
  id: 'sb-msg-0001',
  conversationId: 'sb-conv-0001',
  customerId: 'cust-42',
  text: "Hi Dana, I'm Sam from Acme. Let me check 88-431.\n1. Track parcel",
  quickReplies: [{ label: 'Track parcel', payload: 'opt_track_parcel' }],
  attachments: [],
  author: 'agent',
  authorName: 'Sam',
  inReplyTo: 'ext-msg-000123',
  kind: 'direct',
  template: undefined,
  tag: undefined,
});

test('encodes the outbound fixtures and signs them', () => {
  const req = encode(outbound(), CHANNEL, NOW_MS);
  assert.equal(req.method, 'POST');
  assert.equal(req.url, CHANNEL.webhookUrl);
  assert.deepEqual(req.headers[0], ['content-type', 'application/json']);
  assert.deepEqual(req.headers[1], [SIGNATURE_HEADER, signBase64(utf8(SECRET), req.body)]);
  const parse = (bytes) => JSON.parse(new TextDecoder().decode(bytes));
  assert.deepEqual(parse(req.body), parse(fixture('outbound-text.json')));

  const bot = {
    ...outbound(),
    text: undefined,
    author: 'bot',
    authorName: undefined,
    inReplyTo: undefined,
    attachments: [{ kind: 'image', url: 'https://files.example.invalid/return-label.png', mimeType: 'image/png', filename: 'return-label.png' }],
  };
  assert.deepEqual(parse(encode(bot, CHANNEL, NOW_MS).body), parse(fixture('outbound-attachment.json')));
});

test('refuses what cannot be sent', () => {
  const msg = { ...outbound(), text: '' };
  assert.deepEqual(refusal(() => encode(msg, CHANNEL, NOW_MS)), {
    tag: 'malformed',
    val: 'an Open Messaging message needs text or an attachment',
  });
  const file = { kind: 'file' };
  assert.match(refusal(() => encode({ ...msg, attachments: [file] }, CHANNEL, NOW_MS)).val, /url/);
  assert.equal(
    refusal(() => encode({ ...msg, attachments: [file, file] }, CHANNEL, NOW_MS)).val,
    'Open Messaging carries one attachment per message, not 2',
  );
  assert.equal(refusal(() => encode(outbound(), { ...CHANNEL, webhookUrl: 'middleware.example.invalid' }, NOW_MS)).tag, 'misconfigured');
});

test('maps the answers to typed results', () => {
  const answer = (status, headers, body) => decodeResponse('m', { status, headers, body: utf8(body) }, NOW_MS);
  assert.deepEqual(answer(204, [], ''), { tag: 'sent', val: 'm' });
  assert.deepEqual(answer(429, [['Retry-After', '5']], 'slow down'), {
    tag: 'failed',
    val: { tag: 'rate-limited', val: { retryAtMs: NOW_MS + 5_000n, detail: 'the webhook answered HTTP 429: slow down' } },
  });
  assert.deepEqual(answer(401, [], ''), { tag: 'failed', val: { tag: 'auth', val: 'the webhook answered HTTP 401' } });
  assert.equal(answer(403, [], 'bad signature').val.tag, 'auth');
  assert.deepEqual(answer(502, [], '<h1>Bad Gateway</h1>'), {
    tag: 'failed',
    val: { tag: 'transient', val: 'the webhook answered HTTP 502: <h1>Bad Gateway</h1>' },
  });
  assert.equal(answer(400, [], '{"error":"unknown customer"}').val.tag, 'permanent');
  assert.equal(answer(302, [], '').val.tag, 'permanent');
});

test('compaction keeps strings', () => {
  assert.deepEqual(
    compactJson(utf8('{ "a" : "x \\" y" ,\n"b": [1, 2] }')),
    utf8('{"a":"x \\" y","b":[1,2]}'),
  );
  assert.equal(compactJson(BODY), null);
});
