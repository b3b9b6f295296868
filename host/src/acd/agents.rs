//! What agents do: set their presence, see their queues and interactions, accept or decline an
//! offer, reply (checked against the content filters and the outbound policy before anything is
//! stored), show that they are typing, wrap up, and read transcripts.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::error::AcdError;
use super::filters;
use crate::config::AgentConfig;
use crate::directory::AgentDirectory;
use crate::events::{Author, TemplateMessage};
use crate::integrations::Integrations;
use crate::live::AgentEvents;
use crate::model::{Conversation, ConversationState, NewMessage, Presence, Transfer, now_ms};
use crate::outbound::SenderActions;
use crate::rules::outbound::{self as policy, Outgoing, Refusal};
use crate::store::{AcceptRequest, Accepted, Store, Transcript};
use crate::wake::Wakeups;

type Result<T> = std::result::Result<T, AcdError>;

/// The agent side of the ACD and what it needs.
pub struct Acd {
    pub store: Arc<dyn Store>,
    pub integrations: Arc<Integrations>,
    pub actions: Arc<SenderActions>,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
    pub queues: Arc<HashSet<String>>,
    /// Every agent (transfers name one).
    pub agents: Arc<AgentDirectory>,
    /// The wrap-up codes agents choose from (any code when empty).
    pub wrapup_codes: Vec<String>,
    /// Where platforms fetch the files agents send: `{public_url}/media/{id}`.
    pub public_url: String,
}

/// The interactions offered to or held by an agent.
pub struct AgentInteractions {
    pub offered: Vec<OfferedInteraction>,
    pub held: Vec<Conversation>,
}

/// An interaction offered to the agent, as their console shows it.
pub struct OfferedInteraction {
    pub conversation: Conversation,
    pub expires_at: i64,
    /// The transfer that queued it, with its note (what the `offered` event said).
    pub transfer: Option<Transfer>,
}

/// What an agent sends: text, a canned response (rendered with the customer's details), or a
/// template where the platform has templates; and files they uploaded to the interaction.
pub struct Reply {
    pub text: Option<String>,
    pub canned: Option<String>,
    pub template: Option<TemplateMessage>,
    /// Ids of uploads of this interaction.
    pub attachments: Vec<String>,
}

impl Acd {
    pub async fn set_presence(&self, agent: &AgentConfig, presence: Presence) -> Result<()> {
        if presence == Presence::NotResponding {
            return Err(AcdError::Invalid(
                "`not-responding` is set by the ACD, not by agents".into(),
            ));
        }
        self.store
            .set_presence(&agent.id, presence, now_ms())
            .await?;
        self.wake.wake_route();
        self.live
            .publish(&agent.id, "presence", json!({ "presence": presence }));
        Ok(())
    }

    /// The agent's presence.
    pub async fn presence(&self, agent: &AgentConfig) -> Result<Presence> {
        Ok(self.store.presence(&agent.id).await?.0)
    }

    pub async fn interactions(&self, agent: &AgentConfig) -> Result<AgentInteractions> {
        let mut offered = Vec::new();
        for (conversation, expires_at) in self.store.offers_to(&agent.id).await? {
            // The routing read the same: the latest transfer since it was queued.
            let since = conversation.queued_at.unwrap_or(0);
            let transfer = self
                .store
                .transfers(&conversation.id)
                .await?
                .into_iter()
                .rfind(|t| t.at >= since);
            offered.push(OfferedInteraction {
                conversation,
                expires_at,
                transfer,
            });
        }
        Ok(AgentInteractions {
            offered,
            held: self.store.assigned_to(&agent.id).await?,
        })
    }

    /// Declines an offer: the agent becomes not-responding (no offers until they set
    /// themselves available again) and the interaction goes to another agent, or back to this
    /// one once they are available and nobody else has room.
    pub async fn decline(&self, agent: &AgentConfig, id: &str) -> Result<()> {
        if !self.store.decline(id, &agent.id, now_ms()).await? {
            return Err(AcdError::Conflict(format!(
                "interaction `{id}` is not offered to agent `{}`",
                agent.id
            )));
        }
        self.wake.wake_route();
        self.live.publish(
            &agent.id,
            "presence",
            json!({ "presence": Presence::NotResponding }),
        );
        Ok(())
    }

    /// The queue's waiting conversations, highest priority first, then longest waiting.
    pub async fn queue(&self, agent: &AgentConfig, queue: &str) -> Result<Vec<Conversation>> {
        if !self.queues.contains(queue) {
            return Err(AcdError::NotFound(format!(
                "queue `{queue}` does not exist"
            )));
        }
        if !agent.queues.iter().any(|q| q == queue) {
            return Err(AcdError::Forbidden(format!(
                "agent `{}` is not a member of queue `{queue}`",
                agent.id
            )));
        }
        let mut waiting = self.store.queued(queue).await?;
        waiting.sort_by_key(|c| (-c.priority, c.queued_at));
        Ok(waiting)
    }

    /// Takes an interaction (atomically: two agents accepting at once cannot both get it).
    pub async fn accept(&self, agent: &AgentConfig, id: &str) -> Result<Conversation> {
        let accepted = self
            .store
            .accept(AcceptRequest {
                conversation: id.to_string(),
                agent: agent.clone(),
                now: now_ms(),
            })
            .await?;
        let conversation = match accepted {
            Accepted::Held(conversation) => conversation,
            Accepted::Refused(refusal) => return Err(refusal.into()),
            Accepted::NotFound => {
                return Err(AcdError::NotFound(format!(
                    "interaction `{id}` does not exist"
                )));
            }
        };
        self.live.publish(
            &agent.id,
            "accepted",
            json!({ "interaction": conversation.id, "agent": agent.id }),
        );
        self.wake.wake_route();
        // The customer sees the business has read them (where the platform shows that).
        self.actions.mark_read(&conversation).await;
        Ok(conversation)
    }

    /// The interaction `id`, if `agent` holds it.
    pub(super) async fn held_by(&self, agent: &AgentConfig, id: &str) -> Result<Conversation> {
        let Some(conv) = self.store.conversation(id).await? else {
            return Err(AcdError::NotFound(format!(
                "interaction `{id}` does not exist"
            )));
        };
        if conv.state != ConversationState::Assigned
            || conv.agent.as_deref() != Some(agent.id.as_str())
        {
            return Err(AcdError::Conflict(format!(
                "agent `{}` does not hold interaction `{id}`; accept it first",
                agent.id
            )));
        }
        Ok(conv)
    }

    /// The agent is writing a reply: show the customer a typing indicator where the platform and
    /// the integration's adapter can (`encode-typing`, switchboard:channel@0.2.0). `Err` with the
    /// reason when nothing was shown.
    pub async fn typing(
        &self,
        agent: &AgentConfig,
        id: &str,
    ) -> Result<std::result::Result<(), String>> {
        let conv = self.held_by(agent, id).await?;
        Ok(self.actions.show_typing(&conv).await)
    }

    /// Stores an agent's reply for sending, after the content filters and the platform's
    /// rules allow it. Returns the message id; the transcript shows its delivery status.
    pub async fn send(&self, agent: &AgentConfig, id: &str, reply: Reply) -> Result<String> {
        let conv = self.held_by(agent, id).await?;
        let Reply {
            text,
            canned,
            template,
            attachments,
        } = reply;
        // A canned response is rendered with the customer and the agent.
        let text = match canned {
            Some(canned_id) => {
                let all = self.store.canned().await?;
                let Some(canned) = all.into_iter().find(|c| c.id == canned_id) else {
                    return Err(AcdError::Invalid(format!(
                        "there is no canned response `{canned_id}`"
                    )));
                };
                let mut vars = serde_json::Map::new();
                vars.insert(
                    "customer".into(),
                    crate::engine::customer_value(&conv.customer_id, &conv.customer),
                );
                vars.insert("agent".into(), json!({ "id": agent.id, "name": agent.name.clone().unwrap_or_else(|| agent.id.clone()) }));
                vars.insert("data".into(), Value::Object(conv.participant_data.clone()));
                Some(
                    crate::engine::template::render(&canned.text, &vars)
                        .map_err(AcdError::Invalid)?,
                )
            }
            None => text,
        };
        let text = text.filter(|t| !t.trim().is_empty());
        let attachments = self.attachments_of(&conv, &attachments).await?;
        if text.is_none() && template.is_none() && attachments.is_empty() {
            return Err(AcdError::Invalid(
                "send `text`, a `canned` response id, `attachments` you uploaded, or a `template` where the platform has templates"
                    .into(),
            ));
        }
        if let Some(text) = &text {
            let rules = self.store.filters().await?;
            if let Some(message) = filters::blocked(&rules, text) {
                return Err(AcdError::Refused {
                    code: "content_blocked",
                    message,
                });
            }
        }
        if let Some(integration) = self.integrations.sender_for(&conv.integration) {
            let now = now_ms();
            let outgoing = Outgoing {
                author: Author::Agent,
                text: text.as_deref(),
                template: template.is_some(),
                last_customer_written_at: conv.last_customer_written_at,
            };
            policy::check(&integration.info, outgoing, now).map_err(refused)?;
            if let Some(size) = integration.config.size {
                let sent = self.store.sends_today(&integration.config.id, now).await?;
                policy::daily_cap(&integration.config.id, size, sent).map_err(refused)?;
            }
        }
        if !attachments.is_empty() {
            // The channel must carry it as it is: the adapter says so, or why not.
            self.actions
                .check_encodes(&conv, text.as_deref(), &attachments)
                .await
                .map_err(|message| AcdError::Refused {
                    code: "attachment_refused",
                    message,
                })?;
        }
        let message = NewMessage {
            agent: Some(agent.id.clone()),
            template,
            attachments,
            ..NewMessage::outbound(id, Author::Agent, text)
        };
        let message_id = self.store.queue_message(message, now_ms()).await?;
        self.wake.wake_outbound();
        Ok(message_id)
    }

    pub async fn wrap_up(
        &self,
        agent: &AgentConfig,
        id: &str,
        code: String,
        notes: Option<String>,
    ) -> Result<()> {
        if code.trim().is_empty() {
            return Err(AcdError::Invalid(
                "`code` (the wrap-up code) must not be empty".into(),
            ));
        }
        let codes = &self.wrapup_codes;
        if !codes.is_empty() && !codes.contains(&code) {
            return Err(AcdError::Invalid(format!(
                "unknown wrap-up code `{code}`; use one of: {}",
                codes.join(", ")
            )));
        }
        let done = self
            .store
            .wrap_up(id, &agent.id, &code, notes.as_deref(), now_ms())
            .await?;
        self.wake.wake_route();
        if !done {
            return Err(AcdError::Conflict(format!(
                "agent `{}` does not hold interaction `{id}`",
                agent.id
            )));
        }
        Ok(())
    }

    /// The interaction with its transcript: visible to admins (`agent` is `None`), to the agent
    /// who holds or last held it, and to members of its queue.
    pub async fn interaction(&self, agent: Option<&AgentConfig>, id: &str) -> Result<Transcript> {
        let Some(transcript) = self.store.transcript(id).await? else {
            return Err(AcdError::NotFound(format!(
                "interaction `{id}` does not exist"
            )));
        };
        if let Some(agent) = agent {
            let conv = &transcript.conversation;
            let holds = conv.agent.as_deref() == Some(agent.id.as_str())
                || conv.last_agent.as_deref() == Some(agent.id.as_str());
            let member = conv
                .queue
                .as_ref()
                .is_some_and(|q| agent.queues.contains(q));
            if !holds && !member {
                return Err(AcdError::Forbidden(format!(
                    "agent `{}` may not see interaction `{id}`",
                    agent.id
                )));
            }
        }
        Ok(transcript)
    }
}

/// How the agent API reports a platform rule: text limits and missing capabilities are the
/// agent's to fix (422 `invalid`); a closed window or a spent cap is the platform's refusal.
fn refused(refusal: Refusal) -> AcdError {
    match refusal {
        Refusal::Unsupported(m) | Refusal::TextTooLong(m) => AcdError::Invalid(m),
        Refusal::WindowClosed(message) => AcdError::Refused {
            code: "window_closed",
            message,
        },
        Refusal::DailyCapReached(message) => AcdError::Refused {
            code: "daily_cap_reached",
            message,
        },
    }
}
