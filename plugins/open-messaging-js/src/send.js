// Sending: a signed "Outbound Open NormalizedMessage" POSTed to the middleware's webhook, as the
// Rust adapter builds it (plugins/open-messaging/src/send.rs).
//
// `id` and `channel.messageId` are our message id (receipts come back with it as `id`),
// `channel.to.id` is the customer, `type: "Text"` with `text` and at most one `content[]`
// attachment, and `direction: "Outbound"`. The format has no quick replies, so the host renders
// them into the text.

import {
  bodyExcerpt,
  formatRfc3339Ms,
  malformed,
  misconfigured,
  retryAfterMs,
  signBase64,
  toBody,
  utf8,
} from './sdk.js';
import { SIGNATURE_HEADER } from './webhook.js';

/** How much of an error body goes into a failure message. */
const EXCERPT_CHARS = 300;

/**
 * The signed request that delivers `msg` (an `outbound-message`), stamped `nowMs`.
 * `channel` is `{ webhookUrl, secret, integrationId }`. Throws an `AdapterError`.
 */
export function encode(msg, channel, nowMs) {
  const url = channel.webhookUrl.trim();
  if (!(url.startsWith('https://') || url.startsWith('http://'))) {
    throw misconfigured(`setting \`webhook_url\` must be an http(s) URL, not ${JSON.stringify(url)}`);
  }
  if (msg.customerId.trim() === '') {
    throw malformed('the message has no customer id');
  }

  const from = { id: channel.integrationId, idType: 'Opaque' };
  if (msg.authorName !== undefined && msg.authorName !== null && msg.authorName !== '') {
    from.nickname = msg.authorName;
  }
  const body = {
    id: msg.id,
    channel: {
      id: channel.integrationId,
      platform: 'Open',
      type: 'Private',
      // The customer's `idType` is not kept; Genesys's own notifications say `Opaque`.
      to: { id: msg.customerId, idType: 'Opaque' },
      from,
      time: formatRfc3339Ms(nowMs),
      messageId: msg.id,
    },
    type: 'Text',
  };
  const text = msg.text === undefined || msg.text === null || msg.text === '' ? undefined : msg.text;
  if (text !== undefined) {
    body.text = text;
  }
  const attachments = msg.attachments ?? [];
  if (attachments.length === 0 && text === undefined) {
    throw malformed('an Open Messaging message needs text or an attachment');
  }
  if (attachments.length === 1) {
    body.content = [content(attachments[0])];
  } else if (attachments.length > 1) {
    throw malformed(
      `Open Messaging carries one attachment per message, not ${attachments.length}`,
    );
  }
  body.originatingEntity = msg.author === 'agent' ? 'Human' : 'Bot';
  body.direction = 'Outbound';
  body.conversationId = msg.conversationId;
  if (msg.inReplyTo !== undefined && msg.inReplyTo !== null) {
    body.metadata = { inReplyTo: msg.inReplyTo };
  }

  const bytes = toBody(body);
  return {
    method: 'POST',
    url,
    headers: [
      ['content-type', 'application/json'],
      [SIGNATURE_HEADER, signBase64(utf8(channel.secret), bytes)],
    ],
    body: bytes,
  };
}

const MEDIA_TYPES = { image: 'Image', video: 'Video', audio: 'Audio', link: 'Link' };

/** A `content[]` item: `{contentType: "Attachment", attachment: {mediaType, url, …}}`. */
function content(attachment) {
  if (attachment.url === undefined || attachment.url === null) {
    throw malformed('an Open Messaging attachment needs a download `url`');
  }
  const item = {
    mediaType: Object.hasOwn(MEDIA_TYPES, attachment.kind) ? MEDIA_TYPES[attachment.kind] : 'File',
    url: attachment.url,
  };
  for (const [key, value] of [
    ['id', attachment.mediaId],
    ['mime', attachment.mimeType],
    ['filename', attachment.filename],
    ['text', attachment.caption],
  ]) {
    if (value !== undefined && value !== null) {
      item[key] = value;
    }
  }
  return { contentType: 'Attachment', attachment: item };
}

/**
 * Reads the middleware's answer (an `http-response`) to the send of message `messageId`. The
 * middleware answers with a bare 2xx, so the platform's id of our message is our own id.
 */
export function decodeResponse(messageId, resp, nowMs) {
  const status = resp.status;
  if (status >= 200 && status < 300) {
    return { tag: 'sent', val: messageId };
  }
  const excerpt = bodyExcerpt(resp.body, EXCERPT_CHARS);
  const detail =
    excerpt === ''
      ? `the webhook answered HTTP ${status}`
      : `the webhook answered HTTP ${status}: ${excerpt}`;
  let failure;
  if (status === 429) {
    failure = { tag: 'rate-limited', val: { retryAtMs: retryAfterMs(resp.headers, nowMs), detail } };
  } else if (status === 401 || status === 403) {
    failure = { tag: 'auth', val: detail };
  } else if (status >= 500 && status <= 599) {
    failure = { tag: 'transient', val: detail };
  } else {
    failure = { tag: 'permanent', val: detail };
  }
  return { tag: 'failed', val: failure };
}
