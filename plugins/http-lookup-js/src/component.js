// The order-status data action in JavaScript: the `switchboard:flow@0.1.0` world
// `data-action-plugin`, componentized with ComponentizeJS. It behaves as plugins/http-lookup
// (Rust) does and passes the same compliance profile (plugins/http-lookup/fixtures/check.toml),
// reaching its backend only through the host's `http` import.

import { fetch } from 'switchboard:flow/http@0.1.0';
import { get } from 'switchboard:flow/kv@0.1.0';

import { ACTION, ActionFailure, HttpFailure, INPUTS, OUTPUTS, call } from './orders.js';

const decoder = new TextDecoder();

/** A GET through the host; the host's refusal becomes an HttpFailure. */
function httpGet(url) {
  let response;
  try {
    response = fetch({ method: 'GET', url, headers: [['accept', 'application/json']], body: new Uint8Array() });
  } catch (e) {
    // The bindings throw an `err` with the variant as its payload.
    const error = e?.payload ?? e;
    throw new HttpFailure(error?.tag ?? 'failed', error?.val ?? String(e));
  }
  return { status: response.status, body: decoder.decode(response.body) };
}

export const dataAction = {
  describe() {
    return [{ name: ACTION, inputs: [...INPUTS], outputs: [...OUTPUTS] }];
  },

  call(action, input) {
    try {
      return call(action, input, get, httpGet);
    } catch (e) {
      // A thrown object's `payload` is the `err` side: the typed action error. A bug is a
      // typed failure too, never a trap.
      const failure = e instanceof ActionFailure ? e : new ActionFailure('failed', `http-lookup-js failed: ${e}`);
      throw { payload: { tag: failure.tag, val: failure.message } };
    }
  },
};
