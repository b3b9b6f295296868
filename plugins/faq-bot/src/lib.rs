//! A keyword FAQ bot (`switchboard:flow/bot`).
//!
//! - It answers opening hours, shipping and returns from keywords (or the quick replies it
//!   offers), and exits `done` with the intent.
//! - "Where is my order": it extracts an order number like `12-345` (two digits, a dash, three
//!   digits); without one it asks for it and exits `continue`, remembering the question in its
//!   session; with one it exits `done` with intent `order_status` and slot `order_number`.
//! - A customer asking for a human (agent, person, representative...) gets `handoff`.
//! - Anything else: it asks what the customer needs (with quick replies) and exits `continue`;
//!   after two turns it did not understand it hands off.
//!
//! Answers have built-in defaults and can be replaced per intent through the plugin's
//! key-value store: key `faq/<intent>` (`faq/hours`, `faq/shipping`, `faq/returns`,
//! `faq/order_status`, where `{order_number}` is replaced).

use serde::{Deserialize, Serialize};
use switchboard_sdk::flow::{Bot, BotInput, BotOutput, ExitReason, QuickReply, Reply, kv};

/// An intent the bot answers from its FAQ.
struct Faq {
    intent: &'static str,
    keywords: &'static [&'static str],
    label: &'static str,
    default_answer: &'static str,
}

const FAQS: &[Faq] = &[
    Faq {
        intent: "hours",
        keywords: &[
            "hours",
            "open",
            "opening",
            "close",
            "closing",
            "when are you",
        ],
        label: "Opening hours",
        default_answer: "We are open Monday to Friday, 9:00 to 18:00, and Saturday 10:00 to 14:00.",
    },
    Faq {
        intent: "shipping",
        keywords: &[
            "shipping", "ship", "delivery", "deliver", "postage", "courier",
        ],
        label: "Shipping",
        default_answer: "Orders ship within 2 business days; standard delivery takes 3 to 5 days and is free above 50 EUR.",
    },
    Faq {
        intent: "returns",
        keywords: &["return", "returns", "refund", "exchange", "send back"],
        label: "Returns",
        default_answer: "You can return any item within 30 days for a full refund; start at example.com/returns.",
    },
];

const ORDER_INTENT: &str = "order_status";
const ORDER_KEYWORDS: &[&str] = &[
    "order",
    "track",
    "tracking",
    "parcel",
    "package",
    "where is my",
];
const DEFAULT_ORDER_ANSWER: &str =
    "Thanks! I have noted order {order_number}; let me look up its status for you.";
const HANDOFF_KEYWORDS: &[&str] = &[
    "human",
    "agent",
    "person",
    "representative",
    "operator",
    "someone real",
    "real person",
    "talk to someone",
];
/// Turns the bot may fail to understand before it hands off.
const MAX_MISSES: u32 = 2;

/// What the bot remembers between turns (the `session` JSON).
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// It asked for an order number.
    #[serde(default)]
    pub awaiting_order_number: bool,
    /// Turns it did not understand in a row.
    #[serde(default)]
    pub misses: u32,
}

impl Session {
    fn parse(text: &str) -> Session {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Finds an order number: two digits, `-`, three digits, not part of a longer run of digits.
pub fn find_order_number(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let w = &b[i..i + 6];
        let shape = w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b'-'
            && w[3..6].iter().all(u8::is_ascii_digit);
        let before_ok = i == 0 || !b[i - 1].is_ascii_digit();
        let after_ok = b.get(i + 6).is_none_or(|c| !c.is_ascii_digit());
        (shape && before_ok && after_ok).then(|| text[i..i + 6].to_string())
    })
}

/// Whether `text` (lower case) contains `keyword` as whole words.
fn mentions(text: &str, keyword: &str) -> bool {
    text.match_indices(keyword).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + keyword.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The answer for `intent`: the kv key `faq/<intent>` when set, else the default.
fn answer(intent: &str, default: &str) -> String {
    kv::get(&format!("faq/{intent}"))
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn reply(text: impl Into<String>) -> Reply {
    Reply {
        text: text.into(),
        quick_replies: Vec::new(),
    }
}

fn menu() -> Vec<QuickReply> {
    FAQS.iter()
        .map(|f| QuickReply {
            label: f.label.into(),
            payload: format!("intent:{}", f.intent),
        })
        .chain([
            QuickReply {
                label: "Where is my order?".into(),
                payload: format!("intent:{ORDER_INTENT}"),
            },
            QuickReply {
                label: "Talk to an agent".into(),
                payload: "intent:agent".into(),
            },
        ])
        .collect()
}

fn output(
    replies: Vec<Reply>,
    intent: Option<&str>,
    confidence: Option<f32>,
    slots: Vec<(String, String)>,
    session: &Session,
    exit: ExitReason,
) -> BotOutput {
    BotOutput {
        replies,
        intent: intent.map(str::to_string),
        confidence,
        slots,
        session: session.to_json(),
        exit,
    }
}

/// One turn: the whole bot, testable natively.
pub fn turn(input: &BotInput) -> BotOutput {
    let mut session = Session::parse(&input.session);
    let chosen = input
        .quick_reply
        .as_deref()
        .and_then(|p| p.strip_prefix("intent:"));
    let text = input.text.as_deref().unwrap_or("").to_lowercase();
    let order_number = find_order_number(&text);

    // A tapped quick reply is certain; keywords are a guess.
    let (intent, confidence) = if let Some(chosen) = chosen {
        (Some(chosen), 1.0)
    } else if HANDOFF_KEYWORDS.iter().any(|k| mentions(&text, k)) {
        (Some("agent"), 0.9)
    } else if order_number.is_some()
        && (session.awaiting_order_number || ORDER_KEYWORDS.iter().any(|k| mentions(&text, k)))
    {
        (Some(ORDER_INTENT), 0.95)
    } else if let Some(faq) = best_faq(&text) {
        (Some(faq.0), faq.1)
    } else if ORDER_KEYWORDS.iter().any(|k| mentions(&text, k)) {
        (Some(ORDER_INTENT), 0.7)
    } else {
        (None, 0.0)
    };

    match intent {
        Some("agent") => {
            session.awaiting_order_number = false;
            output(
                vec![reply("Sure, I am connecting you with an agent.")],
                Some("agent"),
                Some(confidence),
                Vec::new(),
                &session,
                ExitReason::Handoff,
            )
        }
        Some(ORDER_INTENT) => match order_number {
            Some(number) => {
                session.awaiting_order_number = false;
                session.misses = 0;
                let text =
                    answer(ORDER_INTENT, DEFAULT_ORDER_ANSWER).replace("{order_number}", &number);
                output(
                    vec![reply(text)],
                    Some(ORDER_INTENT),
                    Some(confidence),
                    vec![("order_number".into(), number)],
                    &session,
                    ExitReason::Done,
                )
            }
            None => {
                session.awaiting_order_number = true;
                output(
                    vec![reply(
                        "What is your order number? It looks like 12-345 and is in your confirmation email.",
                    )],
                    Some(ORDER_INTENT),
                    Some(confidence),
                    Vec::new(),
                    &session,
                    ExitReason::Continue,
                )
            }
        },
        Some(intent) => match FAQS.iter().find(|f| f.intent == intent) {
            Some(faq) => {
                session.awaiting_order_number = false;
                session.misses = 0;
                output(
                    vec![reply(answer(faq.intent, faq.default_answer))],
                    Some(faq.intent),
                    Some(confidence),
                    Vec::new(),
                    &session,
                    ExitReason::Done,
                )
            }
            None => not_understood(session),
        },
        None if session.awaiting_order_number => {
            session.misses += 1;
            if session.misses >= MAX_MISSES {
                return handoff_after_misses(session);
            }
            output(
                vec![reply(
                    "I could not find an order number in that. It looks like 12-345.",
                )],
                Some(ORDER_INTENT),
                Some(0.5),
                Vec::new(),
                &session,
                ExitReason::Continue,
            )
        }
        None => not_understood(session),
    }
}

fn not_understood(mut session: Session) -> BotOutput {
    session.misses += 1;
    if session.misses >= MAX_MISSES {
        return handoff_after_misses(session);
    }
    output(
        vec![Reply {
            text: "Sorry, I did not get that. What can I help you with?".into(),
            quick_replies: menu(),
        }],
        None,
        None,
        Vec::new(),
        &session,
        ExitReason::Continue,
    )
}

fn handoff_after_misses(session: Session) -> BotOutput {
    output(
        vec![reply("Let me get a colleague to help you.")],
        None,
        None,
        Vec::new(),
        &session,
        ExitReason::Handoff,
    )
}

/// The FAQ with the most keyword hits, and a confidence that grows with the hits.
fn best_faq(text: &str) -> Option<(&'static str, f32)> {
    FAQS.iter()
        .map(|f| (f, f.keywords.iter().filter(|k| mentions(text, k)).count()))
        .filter(|(_, hits)| *hits > 0)
        .max_by_key(|(_, hits)| *hits)
        .map(|(f, hits)| (f.intent, (0.6 + 0.15 * hits as f32).min(0.95)))
}

struct FaqBot;

impl Bot for FaqBot {
    fn turn(input: BotInput) -> Result<BotOutput, String> {
        Ok(turn(&input))
    }
}

switchboard_sdk::export_bot!(FaqBot);

// What the bot asks the host for: keyword matching needs little memory.
switchboard_sdk::manifest!("memory_mib = 16\n");

#[cfg(test)]
mod tests {
    use super::*;

    fn input(text: &str, session: &str) -> BotInput {
        BotInput {
            conversation_id: "c1".into(),
            customer_id: "u1".into(),
            text: Some(text.into()),
            quick_reply: None,
            session: session.into(),
            variables: "{}".into(),
        }
    }

    #[test]
    fn order_numbers_are_found_only_in_their_shape() {
        assert_eq!(
            find_order_number("order 12-345 please"),
            Some("12-345".into())
        );
        assert_eq!(find_order_number("12-345"), Some("12-345".into()));
        assert_eq!(find_order_number("123-456"), None);
        assert_eq!(find_order_number("12-3456"), None);
        assert_eq!(find_order_number("12 345"), None);
        assert_eq!(find_order_number("é 98-765é"), Some("98-765".into()));
    }

    #[test]
    fn faq_questions_are_answered_and_done() {
        let out = turn(&input("What are your opening hours?", ""));
        assert_eq!(out.exit, ExitReason::Done);
        assert_eq!(out.intent.as_deref(), Some("hours"));
        assert!(out.replies[0].text.contains("Monday"), "{:?}", out.replies);
        let out = turn(&input("how long does shipping take", ""));
        assert_eq!(out.intent.as_deref(), Some("shipping"));
        let out = turn(&input("I want a refund", ""));
        assert_eq!(out.intent.as_deref(), Some("returns"));
        assert!(out.confidence.unwrap() > 0.5);
    }

    #[test]
    fn answers_come_from_kv_when_set() {
        kv::set("faq/hours", "Open 24/7.");
        let out = turn(&input("are you open on sunday", ""));
        assert_eq!(out.replies[0].text, "Open 24/7.");
        kv::delete("faq/hours");
        let out = turn(&input("are you open on sunday", ""));
        assert_ne!(out.replies[0].text, "Open 24/7.");
    }

    #[test]
    fn order_status_asks_for_the_number_then_is_done_with_the_slot() {
        let first = turn(&input("where is my order?", ""));
        assert_eq!(first.exit, ExitReason::Continue);
        assert_eq!(first.intent.as_deref(), Some(ORDER_INTENT));
        assert!(first.slots.is_empty());
        let second = turn(&input("it is 42-123", &first.session));
        assert_eq!(second.exit, ExitReason::Done);
        assert_eq!(second.intent.as_deref(), Some(ORDER_INTENT));
        assert_eq!(
            second.slots,
            vec![("order_number".to_string(), "42-123".to_string())]
        );
        assert!(second.replies[0].text.contains("42-123"));
        let direct = turn(&input("track order 11-222", ""));
        assert_eq!(direct.exit, ExitReason::Done);
        assert_eq!(direct.slots[0].1, "11-222");
    }

    #[test]
    fn asking_for_a_human_hands_off() {
        for text in ["I want to talk to a human", "AGENT please", "real person!"] {
            let out = turn(&input(text, ""));
            assert_eq!(out.exit, ExitReason::Handoff, "{text}");
        }
        // "agents" inside another word does not count.
        let out = turn(&input("reagentless shipping", ""));
        assert_eq!(out.intent.as_deref(), Some("shipping"));
    }

    #[test]
    fn not_understood_twice_hands_off() {
        let first = turn(&input("blorp", ""));
        assert_eq!(first.exit, ExitReason::Continue);
        assert!(!first.replies[0].quick_replies.is_empty());
        let second = turn(&input("zzz", &first.session));
        assert_eq!(second.exit, ExitReason::Handoff);
    }

    #[test]
    fn quick_replies_choose_the_intent() {
        let mut i = input("", "");
        i.text = None;
        i.quick_reply = Some("intent:returns".into());
        let out = turn(&i);
        assert_eq!(out.intent.as_deref(), Some("returns"));
        assert_eq!(out.confidence, Some(1.0));
        i.quick_reply = Some("intent:agent".into());
        assert_eq!(turn(&i).exit, ExitReason::Handoff);
    }

    #[test]
    fn a_broken_session_starts_over() {
        let out = turn(&input("hours?", "not json"));
        assert_eq!(out.exit, ExitReason::Done);
        assert_eq!(Session::parse(&out.session), Session::default());
    }
}
