//! A model-based test of the threading rule: proptest drives random sequences of customers
//! writing (messages and reactions, on two integrations), their conversations moving on (the flow
//! transferring to a queue or disconnecting, an agent taking and wrapping up, a customer leaving
//! the queue) and time passing, through [`window_start`], [`choose`], [`note_customer_message`]
//! and [`abandon_if_waiting`] exactly as the store applies them, against a reference that keeps
//! one line per customer and integration: their latest conversation. After every message:
//!
//! - it joins the conversation the reference expects: the latest one if within the window and
//!   open, reopened (back to its queue) if it ended after an agent, kept there if a reaction;
//!   otherwise a new one, and a lapsed one still waiting in a queue ends unanswered;
//! - it never joins another customer's or integration's conversation, nor one the window passed;
//! - it never lands in a conversation that stays ended (a reaction excepted), and a reaction
//!   never opens, reopens or moves anything;
//! - each customer has at most one open conversation within the window on each integration;
//! - when the customer last wrote (by the platform's clock) never goes back nor past now.

use proptest::prelude::*;

use super::threading::window_start;
use super::threading::{abandon_if_waiting, choose, new_conversation, note_customer_message};
use crate::events::{InboundMessage, MessageKind};
use crate::model::{Conversation, ConversationState};

const H: i64 = 3_600_000;
const CUSTOMERS: usize = 3;
const INTEGRATIONS: [&str; 2] = ["x-demo", "wa"];

#[derive(Debug, Clone)]
enum Op {
    Write {
        customer: usize,
        integration: usize,
        reaction: bool,
        /// The platform's clock against ours (ms; 0: no platform time).
        skew: i64,
    },
    /// The flow hands the conversation to a queue.
    Transfer {
        pick: usize,
    },
    /// The flow ends it without a queue.
    Disconnect {
        pick: usize,
    },
    Assign {
        pick: usize,
    },
    WrapUp {
        pick: usize,
    },
    /// The customer leaves the queue (or the inactivity timer ends it).
    Leave {
        pick: usize,
    },
    Tick {
        ms: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..CUSTOMERS, 0..2usize, prop::bool::weighted(0.2), prop_oneof![Just(0i64), -H..H])
            .prop_map(|(customer, integration, reaction, skew)| Op::Write {
                customer,
                integration,
                reaction,
                skew,
            }),
        2 => any::<usize>().prop_map(|pick| Op::Transfer { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Disconnect { pick }),
        2 => any::<usize>().prop_map(|pick| Op::Assign { pick }),
        2 => any::<usize>().prop_map(|pick| Op::WrapUp { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Leave { pick }),
        3 => prop_oneof![1..60_000i64, 60_000..24 * H, 24 * H..100 * H]
            .prop_map(|ms| Op::Tick { ms }),
    ]
}

fn message(customer: usize, reaction: bool, timestamp_ms: u64, n: usize) -> InboundMessage {
    InboundMessage {
        id: format!("m{n}"),
        customer_id: format!("customer-{customer}"),
        timestamp_ms,
        text: Some("hi".into()),
        attachments: vec![],
        quick_reply: None,
        profile: None,
        kind: match reaction {
            true => MessageKind::Reaction,
            false => MessageKind::Direct,
        },
        reply_to: None,
        reaction: None,
    }
}

/// What the reference expects a message to do.
#[derive(Debug, PartialEq)]
enum Expect {
    New,
    Join {
        id: String,
        state: ConversationState,
    },
}

struct Model {
    window_ms: i64,
    /// The store's conversations, in the order they were made.
    store: Vec<Conversation>,
    /// The reference: per (customer, integration), the index of their latest conversation.
    latest: std::collections::HashMap<(usize, usize), usize>,
    sent: usize,
    now: i64,
}

impl Model {
    fn key_of(c: &Conversation) -> (String, String) {
        (c.customer_id.clone(), c.integration.clone())
    }

    /// The store's query: the customer's latest conversation on the integration whose last
    /// customer message is at or after `start`.
    fn find(&self, customer: &str, integration: &str, start: i64) -> Option<usize> {
        (0..self.store.len())
            .filter(|&i| {
                let c = &self.store[i];
                c.customer_id == customer
                    && c.integration == integration
                    && c.last_customer_at >= start
            })
            .max_by_key(|&i| (self.store[i].last_customer_at, i))
    }

    fn expect(
        &self,
        customer: usize,
        integration: usize,
        reaction: bool,
    ) -> (Expect, Option<usize>) {
        let Some(&i) = self.latest.get(&(customer, integration)) else {
            return (Expect::New, None);
        };
        let c = &self.store[i];
        let within = self.window_ms > 0 && self.now - c.last_customer_at <= self.window_ms;
        if !within {
            // A lapsed conversation still waiting ends unanswered.
            let abandoned =
                (self.window_ms > 0 && c.state == ConversationState::Queued).then_some(i);
            return (Expect::New, abandoned);
        }
        let join = |state| Expect::Join {
            id: c.id.clone(),
            state,
        };
        let expect = match (c.state, reaction, c.queue.is_some()) {
            (ConversationState::Ended, true, _) => join(ConversationState::Ended),
            (ConversationState::Ended, false, true) => join(ConversationState::Queued),
            (ConversationState::Ended, false, false) => Expect::New,
            (state, _, _) => join(state),
        };
        (expect, None)
    }

    /// The store's `thread`, step for step.
    fn thread(
        &mut self,
        customer: usize,
        integration: usize,
        reaction: bool,
        skew: i64,
    ) -> Result<(), TestCaseError> {
        self.sent += 1;
        let timestamp = match skew {
            0 => 0,
            skew => (self.now + skew) as u64,
        };
        let m = message(customer, reaction, timestamp, self.sent);
        let integration_id = INTEGRATIONS[integration];
        let (expect, abandoned) = self.expect(customer, integration, reaction);
        let before: Vec<Conversation> = self.store.clone();

        let latest = window_start(self.window_ms, self.now)
            .and_then(|start| self.find(&m.customer_id, integration_id, start));
        if latest.is_none()
            && self.window_ms > 0
            && let Some(i) = self.find(&m.customer_id, integration_id, i64::MIN)
        {
            abandon_if_waiting(&mut self.store[i], self.now);
        }
        let id = format!("c{}", self.store.len());
        let threaded = choose(
            latest.map(|i| self.store[i].clone()),
            &m,
            || new_conversation(id, integration_id, &m, "support", Some(1), self.now),
            self.now,
        );
        let mut conversation = threaded.conversation;
        let previous_written = conversation.last_customer_written_at;
        note_customer_message(&mut conversation, &m, threaded.is_new, self.now);
        let index = match threaded.is_new {
            true => {
                self.store.push(conversation.clone());
                self.store.len() - 1
            }
            false => {
                let i = latest.expect("an existing conversation was found");
                prop_assert_eq!(&self.store[i].id, &conversation.id);
                self.store[i] = conversation.clone();
                i
            }
        };
        self.latest.insert((customer, integration), index);

        // What the reference expected.
        match &expect {
            Expect::New => prop_assert!(
                threaded.is_new,
                "expected a new conversation, joined {}",
                conversation.id
            ),
            Expect::Join { id, state } => {
                prop_assert!(
                    !threaded.is_new,
                    "expected to join {id}, opened {}",
                    conversation.id
                );
                prop_assert_eq!(&conversation.id, id);
                prop_assert_eq!(conversation.state, *state);
            }
        }
        for (i, old) in before.iter().enumerate() {
            let now = &self.store[i];
            if i == index {
                continue;
            }
            if Some(i) == abandoned {
                prop_assert_eq!(
                    now.state,
                    ConversationState::Ended,
                    "lapsed {} left waiting",
                    now.id
                );
            } else {
                prop_assert_eq!(
                    now.state,
                    old.state,
                    "{} moved by another's message",
                    now.id
                );
            }
        }
        // Never another customer's, another integration's, or a lapsed one.
        prop_assert_eq!(
            Model::key_of(&conversation),
            (m.customer_id.clone(), integration_id.to_string())
        );
        if !threaded.is_new {
            let old = &before[index];
            prop_assert!(self.window_ms > 0 && self.now - old.last_customer_at <= self.window_ms);
            if reaction {
                prop_assert_eq!(
                    conversation.state,
                    old.state,
                    "a reaction moved {}",
                    conversation.id
                );
            }
            prop_assert!(conversation.last_customer_written_at >= previous_written);
        }
        if !reaction || threaded.is_new {
            prop_assert_ne!(
                conversation.state,
                ConversationState::Ended,
                "a message landed in ended {}",
                conversation.id
            );
        }
        prop_assert!(conversation.last_customer_written_at <= self.now);
        Ok(())
    }

    /// The `pick`-th conversation in `state`, if any.
    fn pick(&mut self, pick: usize, state: ConversationState) -> Option<&mut Conversation> {
        let matching: Vec<usize> = (0..self.store.len())
            .filter(|&i| self.store[i].state == state)
            .collect();
        match matching.len() {
            0 => None,
            n => Some(&mut self.store[matching[pick % n]]),
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let now = self.now;
        match op {
            Op::Write {
                customer,
                integration,
                reaction,
                skew,
            } => self.thread(customer, integration, reaction, skew)?,
            Op::Transfer { pick } => {
                if let Some(c) = self.pick(pick, ConversationState::Flow) {
                    c.state = ConversationState::Queued;
                    c.queue = Some("support".into());
                    c.queued_at = Some(now);
                }
            }
            Op::Disconnect { pick } => {
                if let Some(c) = self.pick(pick, ConversationState::Flow) {
                    c.state = ConversationState::Ended;
                }
            }
            Op::Assign { pick } => {
                if let Some(c) = self.pick(pick, ConversationState::Queued) {
                    c.state = ConversationState::Assigned;
                    c.agent = Some("alice".into());
                    c.assigned_at = Some(now);
                }
            }
            Op::WrapUp { pick } => {
                if let Some(c) = self.pick(pick, ConversationState::Assigned) {
                    c.state = ConversationState::Ended;
                    c.last_agent = c.agent.take();
                }
            }
            Op::Leave { pick } => {
                if let Some(c) = self.pick(pick, ConversationState::Queued) {
                    c.state = ConversationState::Ended;
                }
            }
            Op::Tick { ms } => self.now += ms,
        }
        self.check()
    }

    fn check(&self) -> Result<(), TestCaseError> {
        if self.window_ms == 0 {
            return Ok(());
        }
        for customer in 0..CUSTOMERS {
            for integration in INTEGRATIONS {
                let open: Vec<&str> = self
                    .store
                    .iter()
                    .filter(|c| {
                        c.customer_id == format!("customer-{customer}")
                            && c.integration == integration
                            && c.state != ConversationState::Ended
                            && self.now - c.last_customer_at <= self.window_ms
                    })
                    .map(|c| c.id.as_str())
                    .collect();
                prop_assert!(
                    open.len() <= 1,
                    "customer-{customer} on {integration} has {open:?} open"
                );
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn messages_thread_into_one_open_conversation_per_customer(
        window_ms in prop_oneof![1 => Just(0i64), 1 => Just(72 * H), 2 => 1..72 * H],
        ops in proptest::collection::vec(op(), 1..150),
    ) {
        let mut model = Model {
            window_ms,
            store: Vec::new(),
            latest: Default::default(),
            sent: 0,
            now: 1_790_000_000_000,
        };
        for op in ops {
            model.apply(op)?;
        }
    }
}
