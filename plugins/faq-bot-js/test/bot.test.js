import assert from 'node:assert/strict';
import { test } from 'node:test';

import { findOrderNumber, turn } from '../src/bot.js';

const input = (text, session = '') => ({
  conversationId: 'c1',
  customerId: 'u1',
  text,
  quickReply: undefined,
  session,
  variables: '{}',
});

test('order numbers are found only in their shape', () => {
  assert.equal(findOrderNumber('order 12-345 please'), '12-345');
  assert.equal(findOrderNumber('123-456'), undefined);
  assert.equal(findOrderNumber('12-3456'), undefined);
  assert.equal(findOrderNumber('é 98-765é'), '98-765');
});

test('faq questions are answered and done', () => {
  const out = turn(input('What are your opening hours?'));
  assert.equal(out.exit.tag, 'done');
  assert.equal(out.intent, 'hours');
  assert.match(out.replies[0].text, /Monday/);
  assert.equal(turn(input('I want a refund')).intent, 'returns');
});

test('answers come from kv when set', () => {
  const out = turn(input('are you open on sunday'), (i) => (i === 'hours' ? 'Open 24/7.' : undefined));
  assert.equal(out.replies[0].text, 'Open 24/7.');
});

test('order status asks for the number, then is done with the slot', () => {
  const first = turn(input('where is my order?'));
  assert.equal(first.exit.tag, 'continue');
  const second = turn(input('it is 42-123', first.session));
  assert.equal(second.exit.tag, 'done');
  assert.deepEqual(second.slots, [['order_number', '42-123']]);
});

test('a human is asked for, or two misses, and it hands off', () => {
  assert.equal(turn(input('AGENT please')).exit.tag, 'handoff');
  assert.equal(turn(input('reagentless shipping')).intent, 'shipping');
  const first = turn(input('blorp'));
  assert.equal(first.exit.tag, 'continue');
  assert.ok(first.replies[0].quickReplies.length > 0);
  assert.equal(turn(input('zzz', first.session)).exit.tag, 'handoff');
});

test('a broken session starts over', () => {
  assert.equal(turn(input('hours?', 'not json')).exit.tag, 'done');
});
