// The order-status action's logic, the same contract as plugins/http-lookup (Rust), with the
// HTTP call and the kv lookup passed in so that `node --test` runs it natively.
//
// `order-status` {order_id, base_url?} -> `GET {base_url}/orders/{order_id}`, answered with JSON
// like `{"status": "shipped", "eta": "2025-06-01", "carrier": "DHL"}` ->
// {found: "true"/"false", status, eta, carrier} (404 -> found "false"). The base URL is the kv
// key `config/base_url` when set (the admin's choice wins), else the `base_url` input.

export const ACTION = 'order-status';
export const INPUTS = ['order_id', 'base_url'];
export const OUTPUTS = ['found', 'status', 'eta', 'carrier'];

/** A typed action error; `tag` is `not-found`, `invalid-input` or `failed`. */
export class ActionFailure {
  constructor(tag, message) {
    this.tag = tag;
    this.message = message;
  }
}

/** The host's refusal of a request; `tag` is `denied-host`, `timeout` or `failed`. */
export class HttpFailure {
  constructor(tag, detail = '') {
    this.tag = tag;
    this.detail = detail;
  }
}

export function field(fields, name) {
  const found = fields.find(([key]) => key === name);
  return found === undefined ? undefined : found[1];
}

/** Order ids go into the URL path, so only a safe alphabet is accepted. */
export const validOrderId = (id) => /^[A-Za-z0-9_-]{1,64}$/.test(id);

export const orderUrl = (base, id) => `${base.replace(/\/+$/, '')}/orders/${id}`;

export function baseUrl(kvValue, fields) {
  for (const candidate of [kvValue, field(fields, 'base_url')]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') {
      return candidate.trim();
    }
  }
  throw new ActionFailure(
    'invalid-input',
    'no base URL: set kv key `config/base_url` or pass input `base_url`',
  );
}

/** Maps the backend's answer (status, body text) to the action's outputs. */
export function readResponse(status, body) {
  const outputs = (found, order) => {
    const text = (key) => (typeof order[key] === 'string' ? order[key] : '');
    return [
      ['found', found],
      ['status', text('status')],
      ['eta', text('eta')],
      ['carrier', text('carrier')],
    ];
  };
  if (status === 200) {
    let order;
    try {
      order = JSON.parse(body);
    } catch (e) {
      throw new ActionFailure('failed', `the order backend answered invalid JSON: ${e.message}`);
    }
    if (order === null || typeof order !== 'object' || Array.isArray(order)) {
      throw new ActionFailure('failed', 'the order backend answered JSON that is not an object');
    }
    return outputs('true', order);
  }
  if (status === 404) {
    return outputs('false', {});
  }
  throw new ActionFailure('failed', `the order backend answered HTTP ${status}`);
}

/** The action: `get(url)` returns {status, body} or throws an HttpFailure. */
export function call(action, fields, kvGet, get) {
  if (action !== ACTION) {
    throw new ActionFailure('not-found', action);
  }
  const id = (field(fields, 'order_id') ?? '').trim();
  if (id === '') {
    throw new ActionFailure('invalid-input', 'input `order_id` is required');
  }
  if (!validOrderId(id)) {
    throw new ActionFailure(
      'invalid-input',
      `order_id \`${id.slice(0, 80)}\` may hold only letters, digits, \`-\` and \`_\``,
    );
  }
  const base = baseUrl(kvGet('config/base_url'), fields);
  let response;
  try {
    response = get(orderUrl(base, id));
  } catch (e) {
    if (!(e instanceof HttpFailure)) {
      throw e;
    }
    if (e.tag === 'denied-host') {
      throw new ActionFailure('failed', `denied host ${e.detail}: it is not granted to this plugin`);
    }
    if (e.tag === 'timeout') {
      throw new ActionFailure('failed', 'the order backend timed out');
    }
    throw new ActionFailure('failed', `the order backend is unreachable: ${e.detail}`);
  }
  return readResponse(response.status, response.body);
}
