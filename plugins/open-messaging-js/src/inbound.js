// Decoding of Open Messaging bodies into normalized events, as the Rust adapter does
// (plugins/open-messaging/src/inbound.rs).
//
// One flat body per POST, told apart by its fields:
//
// - a receipt (`type: "Receipt"`, or a `status` without `type`): what happened to a message we
//   sent; `id` is that message's id and `channel.to` the customer;
// - a typing event (`events[]` with `eventType: "Typing"`) from `channel.from`;
// - a message (`type: "Text"`, or no `type` with `text` / `content[]`) from `channel.from`,
//   identified by `channel.messageId` (or the top-level `id`);
// - anything with `direction: "Outbound"` is one of our own messages coming back (an echo).
//
// A structured message (`type: "Structured"`) whose `content[]` has a `ButtonResponse` is the
// customer choosing a quick reply: a message with `quickReply` = its payload. Other kinds (unknown
// types and event types) give no events.

import { malformed, parseJson, parseRfc3339Ms } from './sdk.js';

/**
 * Decodes one webhook body (a Uint8Array) into its events; `debug` logs what is ignored.
 * Throws an `AdapterError` (malformed) for a body that cannot be decoded.
 */
export function decode(bytes, debug = () => {}) {
  const body = readBody(parseJson(bytes));
  const kind = body.type;
  if (kind === 'Receipt' || (kind === undefined && body.status !== undefined)) {
    return [{ tag: 'receipt', val: receipt(body) }];
  }
  if (body.direction === 'Outbound') {
    return [];
  }
  if (body.events !== undefined) {
    return typing(body);
  }
  if (kind === 'Text' || kind === 'Structured' || kind === undefined) {
    return [{ tag: 'message', val: message(body) }];
  }
  debug(`ignoring Open Messaging body of type \`${kind}\``);
  return [];
}

// --- the shape of a body ----------------------------------------------------------------------
//
// Every field is optional, `null` counts as absent, unknown fields are ignored; a field of the
// wrong type makes the body malformed, as a typed decoder would.

function shapeError(path, expected) {
  return malformed(`the JSON body has an unexpected shape: \`${path}\` must be ${expected}`);
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value, path) {
  if (!isObject(value)) {
    throw shapeError(path, 'an object');
  }
  return value;
}

function optString(obj, key, path) {
  const value = obj[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== 'string') {
    throw shapeError(`${path}${key}`, 'a string');
  }
  return value;
}

function optRecord(obj, key, path, read) {
  const value = obj[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  return read(object(value, `${path}${key}`), `${path}${key}.`);
}

function optList(obj, key, path, read) {
  const value = obj[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!Array.isArray(value)) {
    throw shapeError(`${path}${key}`, 'an array');
  }
  return value.map((item, i) => read(object(item, `${path}${key}[${i}]`), `${path}${key}[${i}].`));
}

function strings(obj, path, keys) {
  const out = {};
  for (const key of keys) {
    out[key] = optString(obj, key, path);
  }
  return out;
}

function readBody(value) {
  const obj = object(value, 'the body');
  const body = strings(obj, '', ['id', 'type', 'text', 'direction', 'status']);
  // `channel` defaults to an empty one when absent (but not when `null`).
  body.channel = obj.channel === undefined ? {} : readChannel(object(obj.channel, 'channel'), 'channel.');
  body.content = optList(obj, 'content', '', readContent);
  body.reasons = optList(obj, 'reasons', '', (o, p) => strings(o, p, ['code', 'message']));
  body.events = optList(obj, 'events', '', (o, p) => strings(o, p, ['eventType']));
  return body;
}

function readChannel(obj, path) {
  const channel = strings(obj, path, ['messageId', 'time']);
  channel.from = optRecord(obj, 'from', path, readParty);
  channel.to = optRecord(obj, 'to', path, readParty);
  return channel;
}

function readParty(obj, path) {
  return strings(obj, path, ['id', 'nickname', 'firstName', 'lastName', 'image', 'email']);
}

function readContent(obj, path) {
  const content = strings(obj, path, ['contentType']);
  content.attachment = optRecord(obj, 'attachment', path, (o, p) =>
    strings(o, p, ['id', 'mediaType', 'url', 'mime', 'filename', 'text']),
  );
  content.buttonResponse = optRecord(obj, 'buttonResponse', path, (o, p) =>
    strings(o, p, ['type', 'text', 'payload']),
  );
  return content;
}

// --- events -------------------------------------------------------------------------------------

function message(body) {
  const timestampMs = channelTime(body.channel);
  const from = body.channel.from;
  if (from === undefined) {
    throw missing('channel.from.id');
  }
  const customerId = nonEmpty(from.id);
  if (customerId === undefined) {
    throw missing('channel.from.id');
  }
  const id = nonEmpty(body.channel.messageId) ?? nonEmpty(body.id);
  if (id === undefined) {
    throw missing('channel.messageId');
  }
  let text = nonEmpty(body.text);
  const attachments = (body.content ?? [])
    .filter((content) => content.contentType === 'Attachment' && content.attachment !== undefined)
    .map((content) => attachment(content.attachment));
  // A structured reply: the quick reply or button the customer chose, by its payload.
  let quickReply;
  const chosen = (body.content ?? []).find((content) => content.contentType === 'ButtonResponse');
  if (chosen !== undefined) {
    if (chosen.buttonResponse === undefined) {
      throw missing('content[].buttonResponse');
    }
    const label = nonEmpty(chosen.buttonResponse.text);
    quickReply = nonEmpty(chosen.buttonResponse.payload) ?? label;
    text = text ?? label;
  }
  if (text === undefined && attachments.length === 0 && quickReply === undefined) {
    throw malformed('a message needs `text`, an attachment or a button response in `content`');
  }
  return {
    id,
    customerId,
    timestampMs,
    text,
    attachments,
    quickReply,
    profile: profile(from),
    kind: 'direct',
    replyTo: undefined,
    reaction: undefined,
  };
}

const STATUSES = {
  Sent: 'sent',
  Published: 'sent',
  Delivered: 'delivered',
  Read: 'read',
  Failed: 'failed',
  Removed: 'failed',
};

function receipt(body) {
  const timestampMs = channelTime(body.channel);
  const messageId = nonEmpty(body.id) ?? nonEmpty(body.channel.messageId);
  if (messageId === undefined) {
    throw missing('id');
  }
  // The receipt is about a message to the customer; accept a sender that names them in `from`.
  const customerId = [body.channel.to, body.channel.from]
    .filter((party) => party !== undefined)
    .map((party) => nonEmpty(party.id))
    .find((id) => id !== undefined);
  if (customerId === undefined) {
    throw missing('channel.to.id');
  }
  const statusText = body.status ?? '';
  if (statusText === '') {
    throw missing('status');
  }
  if (!Object.hasOwn(STATUSES, statusText)) {
    throw malformed(
      `\`status\` ${JSON.stringify(statusText)} is not one of Sent, Delivered, Read, Failed, Published, Removed`,
    );
  }
  const status = STATUSES[statusText];
  const reasons = (body.reasons ?? [])
    .map(({ code, message }) =>
      code !== undefined && message !== undefined ? `${code}: ${message}` : (code ?? message),
    )
    .filter((reason) => reason !== undefined);
  let reason;
  if (status === 'failed') {
    reason = reasons.length > 0 ? reasons.join('; ') : statusText;
  }
  return { messageId, customerId, status, reason, timestampMs };
}

function typing(body) {
  if (!body.events.some((event) => event.eventType === 'Typing')) {
    return [];
  }
  const timestampMs = channelTime(body.channel);
  const customerId = body.channel.from === undefined ? undefined : nonEmpty(body.channel.from.id);
  if (customerId === undefined) {
    throw missing('channel.from.id');
  }
  // Several typing events in one body say the same thing; one is enough.
  return [{ tag: 'typing', val: { customerId, timestampMs } }];
}

function channelTime(channel) {
  const text = channel.time;
  if (text === undefined) {
    throw missing('channel.time');
  }
  const ms = parseRfc3339Ms(text);
  if (ms === null) {
    throw malformed(
      `\`channel.time\` must be an ISO-8601 time such as 2026-09-01T10:15:00.000Z, not ${JSON.stringify(text)}`,
    );
  }
  return ms;
}

const MEDIA_TYPES = { Image: 'image', Video: 'video', Audio: 'audio', File: 'file', Link: 'link' };

function attachment(a) {
  return {
    kind: Object.hasOwn(MEDIA_TYPES, a.mediaType ?? '') ? MEDIA_TYPES[a.mediaType] : 'other',
    url: nonEmpty(a.url),
    mediaId: nonEmpty(a.id),
    mimeType: nonEmpty(a.mime),
    filename: nonEmpty(a.filename),
    caption: nonEmpty(a.text),
  };
}

/** The display name is the nickname, else the first and last names. */
function profile(from) {
  const fullName = [from.firstName, from.lastName]
    .map(nonEmpty)
    .filter((name) => name !== undefined)
    .join(' ');
  return {
    displayName: nonEmpty(from.nickname) ?? nonEmpty(fullName),
    handle: undefined,
    verified: undefined,
    followers: undefined,
    posts: undefined,
    avatarUrl: nonEmpty(from.image),
    email: nonEmpty(from.email),
  };
}

function nonEmpty(value) {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function missing(field) {
  return malformed(`the body lacks \`${field}\``);
}
