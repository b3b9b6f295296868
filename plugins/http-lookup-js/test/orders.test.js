import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ActionFailure, HttpFailure, baseUrl, call, orderUrl, readResponse, validOrderId } from '../src/orders.js';

const noKv = () => undefined;
const tagOf = (f) => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ActionFailure, String(e));
    return e.tag;
  }
  assert.fail('no error');
};

test('urls and ids', () => {
  assert.equal(orderUrl('http://h:1/api/', '12-345'), 'http://h:1/api/orders/12-345');
  assert.ok(validOrderId('12-345'));
  for (const bad of ['../admin', 'a b', '', 'x'.repeat(65)]) {
    assert.ok(!validOrderId(bad), bad);
  }
});

test('the kv base URL wins over the input', () => {
  assert.equal(baseUrl('http://kv', [['base_url', 'http://input']]), 'http://kv');
  assert.equal(baseUrl(' ', [['base_url', 'http://input']]), 'http://input');
  assert.equal(tagOf(() => baseUrl(undefined, [])), 'invalid-input');
});

test('responses map to outputs or typed errors', () => {
  assert.deepEqual(readResponse(200, '{"status":"shipped","eta":"2025-06-01"}'), [
    ['found', 'true'],
    ['status', 'shipped'],
    ['eta', '2025-06-01'],
    ['carrier', ''],
  ]);
  assert.equal(readResponse(404, '')[0][1], 'false');
  for (const [status, body] of [[500, ''], [200, 'nope'], [200, '[1]']]) {
    assert.equal(tagOf(() => readResponse(status, body)), 'failed');
  }
});

test('the action calls the backend, and refusals are typed', () => {
  const seen = [];
  const out = call('order-status', [['order_id', '12-345'], ['base_url', 'http://b']], noKv, (url) => {
    seen.push(url);
    return { status: 200, body: '{"carrier":"DHL"}' };
  });
  assert.deepEqual(out[3], ['carrier', 'DHL']);
  assert.deepEqual(seen, ['http://b/orders/12-345']);
  const denied = () => {
    throw new HttpFailure('denied-host', 'evil.example:80');
  };
  assert.equal(tagOf(() => call('order-status', [['order_id', '1'], ['base_url', 'http://e']], noKv, denied)), 'failed');
  assert.equal(tagOf(() => call('nope', [], noKv, denied)), 'not-found');
  assert.equal(tagOf(() => call('order-status', [['order_id', 'x/y']], noKv, denied)), 'invalid-input');
});
