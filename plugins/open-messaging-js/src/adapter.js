// The Open Messaging channel adapter in JavaScript: the `switchboard:channel@0.1.0` world
// `adapter`, componentized with ComponentizeJS. It behaves as plugins/open-messaging (Rust) does.
//
// Settings of the integration:
//
// - `secret` (required): the shared `X-Hub-Signature-256` secret, both ways.
// - `webhook_url` (required for sends): where the middleware takes outbound messages.
// - `inbound_token` (optional): a bearer token the middleware may present instead of signing.

import { get, integrationId } from 'switchboard:channel/config@0.1.0';
import { log } from 'switchboard:channel/logging@0.1.0';

import { misconfigured, nowMs } from './sdk.js';
import { decodeResponse, encode } from './send.js';
import { handle } from './webhook.js';

/** A setting, or `undefined` when it is unset or blank. */
function setting(key) {
  const value = get(key);
  return value === undefined || value === null || value.trim() === '' ? undefined : value;
}

function requireSetting(key) {
  const value = setting(key);
  if (value === undefined) {
    throw misconfigured(`setting \`${key}\` is missing`);
  }
  return value;
}

const debug = (message) => log('debug', message);

export const handler = {
  describe() {
    return {
      platform: 'open-messaging',
      // Open Messaging documents no limit of its own (the far-end channel's applies).
      textLimit: 10_000,
      textUnit: 'chars',
      replyWindowHours: undefined,
      humanAgentWindowHours: undefined,
      // No quick replies: the outbound format carries only `text` and `content[]` attachments,
      // so the host renders the options into the text.
      capabilities: { attachments: true, receipts: true, typing: true },
    };
  },

  handleWebhook(request) {
    const secret = requireSetting('secret');
    return handle(request, secret, setting('inbound_token'), debug);
  },

  encodeSend(message) {
    const channel = {
      secret: requireSetting('secret'),
      webhookUrl: requireSetting('webhook_url'),
      integrationId: integrationId(),
    };
    return encode(message, channel, nowMs());
  },

  decodeSendResponse(messageId, response) {
    return decodeResponse(messageId, response, nowMs());
  },

  encodeMarkRead(_customerId, _messageId) {
    // Open Messaging has no read call from the business side.
    return undefined;
  },
};
