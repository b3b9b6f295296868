"""The FAQ bot, the same contract as plugins/faq-bot (Rust), as plain functions.

- Opening hours, shipping and returns are answered from keywords (or the quick replies it
  offers), exiting `done` with the intent.
- "Where is my order": an order number like `12-345` gives `done`, intent `order_status` and
  slot `order_number`; without one it asks for it and exits `continue`.
- Asking for a human (agent, person, representative...) gives `handoff`.
- Anything else: it asks what the customer needs (with quick replies) and exits `continue`;
  after two turns it did not understand it hands off.

`turn` returns a plain dict: replies [(text, [(label, payload)])], intent, confidence, slots
[(name, value)], session (JSON), exit ("continue", "done" or "handoff"). `answer(intent)` gives
the admin's answer for an intent (the kv key `faq/<intent>`) or None.
"""

import json
from typing import Any, Callable, Dict, List, Optional, Tuple

FAQS = [
    {
        "intent": "hours",
        "keywords": ["hours", "open", "opening", "close", "closing", "when are you"],
        "label": "Opening hours",
        "answer": "We are open Monday to Friday, 9:00 to 18:00, and Saturday 10:00 to 14:00.",
    },
    {
        "intent": "shipping",
        "keywords": ["shipping", "ship", "delivery", "deliver", "postage", "courier"],
        "label": "Shipping",
        "answer": "Orders ship within 2 business days; standard delivery takes 3 to 5 days and is free above 50 EUR.",
    },
    {
        "intent": "returns",
        "keywords": ["return", "returns", "refund", "exchange", "send back"],
        "label": "Returns",
        "answer": "You can return any item within 30 days for a full refund; start at example.com/returns.",
    },
]

ORDER_INTENT = "order_status"
ORDER_KEYWORDS = ["order", "track", "tracking", "parcel", "package", "where is my"]
DEFAULT_ORDER_ANSWER = "Thanks! I have noted order {order_number}; let me look up its status for you."
HANDOFF_KEYWORDS = [
    "human",
    "agent",
    "person",
    "representative",
    "operator",
    "someone real",
    "real person",
    "talk to someone",
]
MAX_MISSES = 2


def _digit(c: Optional[str]) -> bool:
    return c is not None and "0" <= c <= "9"


def find_order_number(text: str) -> Optional[str]:
    """Two digits, `-`, three digits, not part of a longer run of digits."""
    for i in range(len(text) - 5):
        w = text[i : i + 6]
        shape = _digit(w[0]) and _digit(w[1]) and w[2] == "-" and all(_digit(c) for c in w[3:])
        before = text[i - 1] if i > 0 else None
        after = text[i + 6] if i + 6 < len(text) else None
        if shape and not _digit(before) and not _digit(after):
            return w
    return None


def mentions(text: str, keyword: str) -> bool:
    """Whether `text` (lower case) contains `keyword` as whole words."""
    start = text.find(keyword)
    while start != -1:
        before = text[start - 1] if start > 0 else ""
        end = start + len(keyword)
        after = text[end] if end < len(text) else ""
        if not before.isalnum() and not after.isalnum():
            return True
        start = text.find(keyword, start + 1)
    return False


def parse_session(text: str) -> Dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if not isinstance(value, dict):
        value = {}
    misses = value.get("misses")
    return {
        "awaiting_order_number": value.get("awaiting_order_number") is True,
        "misses": misses if isinstance(misses, int) and not isinstance(misses, bool) and misses >= 0 else 0,
    }


Reply = Tuple[str, List[Tuple[str, str]]]


def _menu() -> List[Tuple[str, str]]:
    return [(f["label"], "intent:" + f["intent"]) for f in FAQS] + [
        ("Where is my order?", "intent:" + ORDER_INTENT),
        ("Talk to an agent", "intent:agent"),
    ]


def _output(
    replies: List[Reply],
    intent: Optional[str],
    confidence: Optional[float],
    slots: List[Tuple[str, str]],
    session: Dict[str, Any],
    exit: str,
) -> Dict[str, Any]:
    return {
        "replies": replies,
        "intent": intent,
        "confidence": confidence,
        "slots": slots,
        "session": json.dumps(session, separators=(",", ":")),
        "exit": exit,
    }


def _best_faq(text: str) -> Optional[Tuple[str, float]]:
    best = None
    for faq in FAQS:
        hits = sum(1 for k in faq["keywords"] if mentions(text, k))
        if hits > 0 and (best is None or hits >= best[1]):
            best = (faq["intent"], hits)
    if best is None:
        return None
    return best[0], min(0.6 + 0.15 * best[1], 0.95)


def _handoff_after_misses(session: Dict[str, Any]) -> Dict[str, Any]:
    return _output([("Let me get a colleague to help you.", [])], None, None, [], session, "handoff")


def _not_understood(session: Dict[str, Any]) -> Dict[str, Any]:
    session["misses"] += 1
    if session["misses"] >= MAX_MISSES:
        return _handoff_after_misses(session)
    return _output(
        [("Sorry, I did not get that. What can I help you with?", _menu())], None, None, [], session, "continue"
    )


def turn(
    text: Optional[str],
    quick_reply: Optional[str],
    session_text: str,
    answer: Callable[[str], Optional[str]] = lambda _intent: None,
) -> Dict[str, Any]:
    session = parse_session(session_text)
    chosen = quick_reply[len("intent:") :] if quick_reply and quick_reply.startswith("intent:") else None
    text = (text or "").lower()
    order_number = find_order_number(text)

    def answer_for(intent: str, fallback: str) -> str:
        value = answer(intent)
        return value if value is not None and value.strip() != "" else fallback

    intent, confidence = None, 0.0
    if chosen is not None:
        intent, confidence = chosen, 1.0
    elif any(mentions(text, k) for k in HANDOFF_KEYWORDS):
        intent, confidence = "agent", 0.9
    elif order_number is not None and (
        session["awaiting_order_number"] or any(mentions(text, k) for k in ORDER_KEYWORDS)
    ):
        intent, confidence = ORDER_INTENT, 0.95
    else:
        faq = _best_faq(text)
        if faq is not None:
            intent, confidence = faq
        elif any(mentions(text, k) for k in ORDER_KEYWORDS):
            intent, confidence = ORDER_INTENT, 0.7

    if intent == "agent":
        session["awaiting_order_number"] = False
        return _output([("Sure, I am connecting you with an agent.", [])], "agent", confidence, [], session, "handoff")
    if intent == ORDER_INTENT:
        if order_number is not None:
            session["awaiting_order_number"] = False
            session["misses"] = 0
            reply = answer_for(ORDER_INTENT, DEFAULT_ORDER_ANSWER).replace("{order_number}", order_number)
            return _output([(reply, [])], ORDER_INTENT, confidence, [("order_number", order_number)], session, "done")
        session["awaiting_order_number"] = True
        return _output(
            [("What is your order number? It looks like 12-345 and is in your confirmation email.", [])],
            ORDER_INTENT,
            confidence,
            [],
            session,
            "continue",
        )
    if intent is not None:
        faq = next((f for f in FAQS if f["intent"] == intent), None)
        if faq is None:
            return _not_understood(session)
        session["awaiting_order_number"] = False
        session["misses"] = 0
        return _output([(answer_for(faq["intent"], faq["answer"]), [])], faq["intent"], confidence, [], session, "done")
    if session["awaiting_order_number"]:
        session["misses"] += 1
        if session["misses"] >= MAX_MISSES:
            return _handoff_after_misses(session)
        return _output(
            [("I could not find an order number in that. It looks like 12-345.", [])],
            ORDER_INTENT,
            0.5,
            [],
            session,
            "continue",
        )
    return _not_understood(session)
