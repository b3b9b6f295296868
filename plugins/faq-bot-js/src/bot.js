// The FAQ bot's logic, the same contract as plugins/faq-bot (Rust), as a pure function so that
// `node --test` runs it natively. `answer(intent)` gives the admin's answer for an intent (the
// kv key `faq/<intent>`) or undefined.
//
// - Opening hours, shipping and returns are answered from keywords (or the quick replies it
//   offers), exiting `done` with the intent.
// - "Where is my order": an order number like `12-345` gives `done`, intent `order_status` and
//   slot `order_number`; without one it asks for it and exits `continue`.
// - Asking for a human (agent, person, representative...) gives `handoff`.
// - Anything else: it asks what the customer needs (with quick replies) and exits `continue`;
//   after two turns it did not understand it hands off.

const FAQS = [
  {
    intent: 'hours',
    keywords: ['hours', 'open', 'opening', 'close', 'closing', 'when are you'],
    label: 'Opening hours',
    answer: 'We are open Monday to Friday, 9:00 to 18:00, and Saturday 10:00 to 14:00.',
  },
  {
    intent: 'shipping',
    keywords: ['shipping', 'ship', 'delivery', 'deliver', 'postage', 'courier'],
    label: 'Shipping',
    answer:
      'Orders ship within 2 business days; standard delivery takes 3 to 5 days and is free above 50 EUR.',
  },
  {
    intent: 'returns',
    keywords: ['return', 'returns', 'refund', 'exchange', 'send back'],
    label: 'Returns',
    answer: 'You can return any item within 30 days for a full refund; start at example.com/returns.',
  },
];

const ORDER_INTENT = 'order_status';
const ORDER_KEYWORDS = ['order', 'track', 'tracking', 'parcel', 'package', 'where is my'];
const DEFAULT_ORDER_ANSWER =
  'Thanks! I have noted order {order_number}; let me look up its status for you.';
const HANDOFF_KEYWORDS = [
  'human',
  'agent',
  'person',
  'representative',
  'operator',
  'someone real',
  'real person',
  'talk to someone',
];
/** Turns the bot may fail to understand before it hands off. */
const MAX_MISSES = 2;

const isDigit = (c) => c !== undefined && c >= '0' && c <= '9';
// Letters and digits; any other character past ASCII but spaces and general punctuation counts
// as a letter (the component's engine has no Unicode property classes).
const isWordChar = (c) =>
  c !== undefined &&
  (/[0-9A-Za-z]/.test(c) || (c.codePointAt(0) > 0x7f && !/[\s\u2000-\u206f\u3000-\u303f]/.test(c)));

/** An order number: two digits, `-`, three digits, not part of a longer run of digits. */
export function findOrderNumber(text) {
  for (let i = 0; i + 6 <= text.length; i++) {
    const w = text.slice(i, i + 6);
    const shape = isDigit(w[0]) && isDigit(w[1]) && w[2] === '-' && [...w.slice(3)].every(isDigit);
    if (shape && !isDigit(text[i - 1]) && !isDigit(text[i + 6])) {
      return w;
    }
  }
  return undefined;
}

/** Whether `text` (lower case) contains `keyword` as whole words. */
export function mentions(text, keyword) {
  for (let i = text.indexOf(keyword); i !== -1; i = text.indexOf(keyword, i + 1)) {
    const before = i === 0 ? undefined : [...text.slice(0, i)].pop();
    const after = [...text.slice(i + keyword.length, i + keyword.length + 2)][0];
    if (!isWordChar(before) && !isWordChar(after)) {
      return true;
    }
  }
  return false;
}

/** The session JSON, or a fresh one when it is missing or broken. */
export function parseSession(text) {
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return {
        awaiting_order_number: value.awaiting_order_number === true,
        misses: Number.isInteger(value.misses) && value.misses >= 0 ? value.misses : 0,
      };
    }
  } catch {
    // Starts over.
  }
  return { awaiting_order_number: false, misses: 0 };
}

const reply = (text, quickReplies = []) => ({ text, quickReplies });

function menu() {
  return [
    ...FAQS.map((f) => ({ label: f.label, payload: `intent:${f.intent}` })),
    { label: 'Where is my order?', payload: `intent:${ORDER_INTENT}` },
    { label: 'Talk to an agent', payload: 'intent:agent' },
  ];
}

function output(replies, intent, confidence, slots, session, exit) {
  return {
    replies,
    intent: intent ?? undefined,
    confidence: confidence ?? undefined,
    slots,
    session: JSON.stringify(session),
    exit: { tag: exit },
  };
}

/** The FAQ with the most keyword hits, and a confidence that grows with the hits. */
function bestFaq(text) {
  let best;
  for (const faq of FAQS) {
    const hits = faq.keywords.filter((k) => mentions(text, k)).length;
    if (hits > 0 && (best === undefined || hits >= best.hits)) {
      best = { faq, hits };
    }
  }
  return best && { intent: best.faq.intent, confidence: Math.min(0.6 + 0.15 * best.hits, 0.95) };
}

function notUnderstood(session) {
  session.misses += 1;
  if (session.misses >= MAX_MISSES) {
    return handoffAfterMisses(session);
  }
  return output(
    [reply('Sorry, I did not get that. What can I help you with?', menu())],
    undefined,
    undefined,
    [],
    session,
    'continue',
  );
}

function handoffAfterMisses(session) {
  return output([reply('Let me get a colleague to help you.')], undefined, undefined, [], session, 'handoff');
}

/**
 * One turn. `input` is the WIT `bot-input` (`text`, `quickReply`, `session`...); the result is
 * the WIT `bot-output`.
 */
export function turn(input, answer = () => undefined) {
  const session = parseSession(input.session ?? '');
  const quick = input.quickReply ?? undefined;
  const chosen = quick !== undefined && quick.startsWith('intent:') ? quick.slice(7) : undefined;
  const text = (input.text ?? '').toLowerCase();
  const orderNumber = findOrderNumber(text);
  const answerFor = (intent, fallback) => {
    const set = answer(intent);
    return set !== undefined && set !== null && set.trim() !== '' ? set : fallback;
  };

  // A tapped quick reply is certain; keywords are a guess.
  let intent;
  let confidence = 0;
  if (chosen !== undefined) {
    [intent, confidence] = [chosen, 1.0];
  } else if (HANDOFF_KEYWORDS.some((k) => mentions(text, k))) {
    [intent, confidence] = ['agent', 0.9];
  } else if (
    orderNumber !== undefined &&
    (session.awaiting_order_number || ORDER_KEYWORDS.some((k) => mentions(text, k)))
  ) {
    [intent, confidence] = [ORDER_INTENT, 0.95];
  } else {
    const faq = bestFaq(text);
    if (faq !== undefined) {
      [intent, confidence] = [faq.intent, faq.confidence];
    } else if (ORDER_KEYWORDS.some((k) => mentions(text, k))) {
      [intent, confidence] = [ORDER_INTENT, 0.7];
    }
  }

  if (intent === 'agent') {
    session.awaiting_order_number = false;
    return output(
      [reply('Sure, I am connecting you with an agent.')],
      'agent',
      confidence,
      [],
      session,
      'handoff',
    );
  }
  if (intent === ORDER_INTENT) {
    if (orderNumber !== undefined) {
      session.awaiting_order_number = false;
      session.misses = 0;
      const text = answerFor(ORDER_INTENT, DEFAULT_ORDER_ANSWER).replaceAll('{order_number}', orderNumber);
      return output([reply(text)], ORDER_INTENT, confidence, [['order_number', orderNumber]], session, 'done');
    }
    session.awaiting_order_number = true;
    return output(
      [reply('What is your order number? It looks like 12-345 and is in your confirmation email.')],
      ORDER_INTENT,
      confidence,
      [],
      session,
      'continue',
    );
  }
  if (intent !== undefined) {
    const faq = FAQS.find((f) => f.intent === intent);
    if (faq === undefined) {
      return notUnderstood(session);
    }
    session.awaiting_order_number = false;
    session.misses = 0;
    return output([reply(answerFor(faq.intent, faq.answer))], faq.intent, confidence, [], session, 'done');
  }
  if (session.awaiting_order_number) {
    session.misses += 1;
    if (session.misses >= MAX_MISSES) {
      return handoffAfterMisses(session);
    }
    return output(
      [reply('I could not find an order number in that. It looks like 12-345.')],
      ORDER_INTENT,
      0.5,
      [],
      session,
      'continue',
    );
  }
  return notUnderstood(session);
}
