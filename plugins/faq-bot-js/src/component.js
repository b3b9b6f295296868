// The FAQ bot in JavaScript: the `switchboard:flow@0.1.0` world `bot-plugin`, componentized with
// ComponentizeJS. It behaves as plugins/faq-bot (Rust) does and passes the same compliance
// profile (plugins/faq-bot/fixtures/check.toml). Answers can be replaced per intent through the
// plugin's key-value store: key `faq/<intent>`.

import { get } from 'switchboard:flow/kv@0.1.0';

import { turn } from './bot.js';

export const bot = {
  turn(input) {
    // A thrown object's `payload` is the `err` side of the result: the flow's error path.
    try {
      return turn(input, (intent) => get(`faq/${intent}`));
    } catch (e) {
      throw { payload: `faq-bot-js failed: ${e}` };
    }
  },
};
