//! Bulk prefill for the benchmark's scale run (`switchboard bench-prefill`): a store that has
//! seen a million conversations, written through this engine's own row code in large
//! transactions, so the scale run measures the pipeline against realistic table sizes.

use super::SqliteStore;
use super::{conversations, messages};
use crate::events::{Author, Profile};
use crate::model::{Conversation, ConversationState, Direction, NewMessage};

/// How many conversations one transaction writes.
const CHUNK: usize = 5_000;

impl SqliteStore {
    /// Adds `ended` conversations (each with the customer's message and a sent reply, spread
    /// over the last 30 days) and `waiting` conversations queued in `queue`, on integration
    /// `integration`. Customer ids are `prefill-N`, so they never collide with live traffic.
    pub async fn prefill(
        &self,
        integration: &str,
        queue: &str,
        ended: usize,
        waiting: usize,
        now: i64,
    ) -> anyhow::Result<()> {
        let total = ended + waiting;
        let mut start = 0;
        while start < total {
            let end = (start + CHUNK).min(total);
            let (integration, queue) = (integration.to_string(), queue.to_string());
            self.db
                .call_alone(move |c| {
                    for n in start..end {
                        let is_waiting = n >= ended;
                        let at = now - ((total - n) as i64 * 2_592_000_000 / total.max(1) as i64);
                        let conversation = Conversation {
                            id: format!("c_prefill_{n}"),
                            integration: integration.clone(),
                            customer_id: format!("prefill-{n}"),
                            customer: Profile {
                                display_name: Some(format!("Customer {n}")),
                                ..Profile::default()
                            },
                            state: if is_waiting {
                                ConversationState::Queued
                            } else {
                                ConversationState::Ended
                            },
                            flow: Some("support".into()),
                            flow_version: Some(1),
                            flow_state: None,
                            queue: Some(queue.clone()),
                            priority: 0,
                            skills: Vec::new(),
                            agent: None,
                            last_agent: None,
                            participant_data: Default::default(),
                            queued_at: Some(at),
                            created_at: at,
                            updated_at: at,
                            last_customer_at: at,
                            last_customer_written_at: at,
                            flow_timeout_at: None,
                            language: None,
                            preferred_agents: Vec::new(),
                            inactivity_warned_at: None,
                            assigned_at: None,
                            version: 0,
                        };
                        conversations::insert(c, &conversation)?;
                        messages::insert(
                            c,
                            &NewMessage {
                                direction: Direction::Inbound,
                                platform_id: Some(format!("prefill-dm-{n}")),
                                ..NewMessage::outbound(
                                    &conversation.id,
                                    Author::Customer,
                                    Some("Hello, where is my order?".into()),
                                )
                            },
                            at,
                        )?;
                        if !is_waiting {
                            let reply = messages::insert(
                                c,
                                &NewMessage::outbound(
                                    &conversation.id,
                                    Author::Bot,
                                    Some("Thanks! An agent will be with you shortly.".into()),
                                ),
                                at,
                            )?;
                            messages::mark_prefilled_sent(
                                c,
                                &reply,
                                &format!("prefill-out-{n}"),
                                at,
                            )?;
                        }
                    }
                    Ok(())
                })
                .await?;
            start = end;
        }
        Ok(())
    }
}
