//! The sender worker: pending outbound messages go through the adapter's `encode-send`, the
//! host performs the HTTP request with a timeout, and the adapter's `decode-send-response` says
//! whether the platform took it. Transient failures and rate limits are retried with jittered
//! exponential backoff, or at the time the platform names (floored and capped, see
//! [`crate::rules::outbound_retry`]); a rate limit pauses the whole integration
//! ([`Pauses`]), and every integration keeps to its send limits ([`Pacing`]); everything else
//! is recorded as failed with its reason.
//!
//! Messages are durable before they are sent (stored `pending` in the same transaction as what
//! caused them), and every attempt is claimed in the store before its request (pending →
//! sending, the attempt counted), so a message is never in two sends at once, every request the
//! platform sees is a recorded attempt, and a crash only delays what it interrupted.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use crate::config::OutboundConfig;
use crate::directory::AgentDirectory;
use crate::events::{OutboundKind, OutboundMessage, SendFailure, SendResult};
use crate::integrations::{Integration, Integrations, OneSend, perform};
use crate::live::AgentEvents;
use crate::metrics::Metrics;
use crate::model::{Conversation, Message, now_ms};
use crate::rules::outbound::{self as policy, Outgoing, Refusal};
use crate::rules::outbound_retry::{Next, RetryPolicy, named_retry_at};
use crate::store::{ClaimedSend, OutboxStore, SendRecord};
use crate::wake::Wakeups;

use super::pacing::Pacing;
use super::pauses::Pauses;

/// How often a message of a deauthorized integration is looked at again (re-authorizing wakes
/// them at once).
const DEAUTHORIZED_RECHECK_MS: i64 = 60 * 1000;
/// The longest a send waits in place for its integration's turn; a longer wait puts it back in
/// the queue.
const PACING_WAIT_IN_PLACE_MS: i64 = 1_000;
/// How long a claim on a message lasts beyond the request's own timeout: a sender that has not
/// recorded the result by then is taken to have died, and the message is due again.
const CLAIM_MARGIN_MS: i64 = 30_000;

/// The sender worker and what it needs.
pub struct Sender {
    pub store: Arc<dyn OutboxStore>,
    pub integrations: Arc<Integrations>,
    pub agents: Arc<AgentDirectory>,
    pub http: reqwest::Client,
    pub live: Arc<AgentEvents>,
    pub wake: Arc<Wakeups>,
    pub metrics: Arc<Metrics>,
    pub config: OutboundConfig,
    /// Integrations waiting out a platform's rate limit.
    pub pauses: Pauses,
    /// Each integration's send rate, within the platform's documented limits.
    pub pacing: Pacing,
    /// Whether other hosts send from the same store: then a claim still open at start may be
    /// another host's send in progress, and is left to run out rather than released.
    pub shared_store: bool,
}

/// A random number in `[0, 1)`, to spread retries.
fn jitter() -> f64 {
    (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64
}

impl Sender {
    /// Runs forever: claims due messages and sends them, at most `outbound.concurrency` at once.
    pub async fn run(self: Arc<Self>) {
        let concurrency = self.config.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let lease_ms = self.lease_ms();
        let batch = (concurrency / 4).clamp(1, 16);
        // When this process is the store's only sender, a claim still open is one a crash
        // interrupted.
        let released = match self.shared_store {
            true => Ok(0),
            false => self.store.release_claims(now_ms()).await,
        };
        match released {
            Ok(0) => {}
            Ok(n) => tracing::warn!(
                "{n} message(s) were being sent when the host stopped; they may have reached the \
                 platform and are sent again"
            ),
            Err(e) => tracing::error!("cannot release unfinished sends: {e:#}"),
        }
        // Whether the loop waits for senders to finish (too few permits to claim): only then
        // does a finished send wake it (an attempt that did not go out wakes it in
        // `store_record`). Waking it after every send made it claim again for nothing, a store
        // transaction per message at moderate rates, since what a send that went out leaves
        // behind (its conversation's next message) it claims itself.
        let starved = Arc::new(AtomicBool::new(false));
        loop {
            let wake = self.wake.outbound.notified();
            tokio::pin!(wake);
            wake.as_mut().enable();
            // Set before the permits are read: a send that ends after the read sees it.
            starved.store(true, Ordering::SeqCst);
            let free = permits.available_permits();
            // Claims are batched: with most senders busy, wait until a few are free rather
            // than claiming one message per finished send.
            let next_due = if free == 0 || (free < batch && free < concurrency) {
                // Senders that finish wake this loop.
                None
            } else {
                starved.store(false, Ordering::SeqCst);
                // The claim's lease is counted from before it was asked for: an answer that
                // came late (a slow or cut-off network) leaves less of it, never more.
                let claimed_at = Instant::now();
                match self.claim(free, lease_ms).await {
                    Ok((claimed, next_due)) => {
                        let full = claimed.len() == free;
                        for send in claimed {
                            let Ok(permit) = permits.clone().acquire_owned().await else {
                                return;
                            };
                            let sender = self.clone();
                            let starved = starved.clone();
                            tokio::spawn(async move {
                                // A send that went out may bring the next message of its
                                // conversation, already claimed: it goes next, in order.
                                // The adapter's instance goes along while it may serve again.
                                let mut next = Some((send, claimed_at, None));
                                while let Some((send, claimed_at, kept)) = next {
                                    next = sender.send_one(send, claimed_at, kept).await;
                                }
                                drop(permit);
                                // Only this host's loop waits for its permits.
                                if starved.load(Ordering::SeqCst) {
                                    sender.wake.outbound.notify_one();
                                }
                            });
                        }
                        if full {
                            // More may be due: look again at once.
                            continue;
                        }
                        next_due
                    }
                    Err(e) => {
                        tracing::error!("cannot read the outbound queue: {e:#}");
                        None
                    }
                }
            };
            // Sleep until the next retry falls due (never spin on claimed ones), or a wake-up.
            let wait = next_due.map_or(1000, |at| (at - now_ms()).clamp(20, 1000));
            tokio::select! {
                _ = &mut wake => {}
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
            }
        }
    }

    /// How long a claim lasts: the request's timeout and a margin.
    fn lease_ms(&self) -> i64 {
        self.config.timeout_ms as i64 + CLAIM_MARGIN_MS
    }

    async fn claim(
        &self,
        limit: usize,
        lease_ms: i64,
    ) -> anyhow::Result<(Vec<ClaimedSend>, Option<i64>)> {
        let claimed = self.store.claim_sends(now_ms(), limit, lease_ms).await?;
        // With a full batch the loop looks again at once; otherwise it sleeps until the next due.
        let next = match claimed.len() < limit {
            true => {
                let read = self.store.next_send_at();
                self.wake.outbound_due.next_due(now_ms(), read).await?
            }
            false => None,
        };
        Ok((claimed, next))
    }

    async fn record(&self, id: &str, attempt: i64, record: SendRecord) {
        if let Err(e) = self.store_record(id, attempt, record, now_ms()).await {
            tracing::error!(message = %id, "cannot record the send result: {e:#}");
        }
    }

    /// Records how an attempt that did not go out ended (one that went out is recorded with its
    /// successor claimed, by `record_sent_and_claim_next`). A retry's due time counts for the
    /// next wake-up at once, and the claim loop is woken: the new due time, or the next message
    /// of the conversation, which a failed one no longer holds back, is for it to see now.
    async fn store_record(
        &self,
        id: &str,
        attempt: i64,
        record: SendRecord,
        now: i64,
    ) -> anyhow::Result<()> {
        let retry_at = match &record {
            SendRecord::Retry { at, .. } => Some(*at),
            _ => None,
        };
        self.store.record_send(id, attempt, record, now).await?;
        if let Some(at) = retry_at {
            self.wake.outbound_due.note(at);
        }
        self.wake.outbound.notify_one();
        Ok(())
    }

    /// Sends one claimed message and records the attempt, through `kept` (the adapter instance
    /// of the previous send of this conversation) if it may serve. When the message went out,
    /// returns the next message of its conversation if it was due, claimed in the same
    /// transaction, with the instance for it.
    async fn send_one(
        &self,
        send: ClaimedSend,
        claimed_at: Instant,
        kept: Option<OneSend>,
    ) -> Option<(ClaimedSend, Instant, Option<OneSend>)> {
        let ClaimedSend {
            message,
            conversation,
            public_reply_to,
        } = send;
        // The attempt this send holds the claim for (counted when it was claimed).
        let attempts = message.attempts;
        let id = message.id.clone();
        let Some(integration) = self.integrations.sender_for(&conversation.integration) else {
            let error = format!(
                "integration `{}` is no longer configured",
                conversation.integration
            );
            self.record(&id, attempts, SendRecord::Failed { error })
                .await;
            return None;
        };
        let integration_id = integration.config.id.clone();
        if let Some((_, reason)) = self.integrations.deauthorized(&integration_id) {
            // Kept, not lost: it goes out once an admin re-authorizes the integration.
            let error = format!(
                "auth: integration `{integration_id}` is deauthorized ({reason}); waiting for re-authorization"
            );
            let at = now_ms() + DEAUTHORIZED_RECHECK_MS;
            let retry = SendRecord::Retry {
                error,
                at,
                uncount: true,
            };
            self.record(&id, attempts, retry).await;
            return None;
        }
        if let Some(until) = self.pauses.paused_until(&integration_id, now_ms()) {
            // Nothing was tried: the attempt is given back, and the message due when the
            // platform's limit ends (spread a little, so the held sends do not all return at
            // once).
            let spread = (self.config.backoff_ms as f64 / 2.0 * jitter()) as i64;
            let error = format!(
                "rate_limited: integration `{integration_id}` waits for the platform's rate limit to end"
            );
            let retry = SendRecord::Retry {
                error,
                at: until + spread,
                uncount: true,
            };
            self.record(&id, attempts, retry).await;
            return None;
        }
        // Within the integration's send limits: a short wait in place, a long one in the queue.
        loop {
            let now = now_ms();
            match self.pacing.take(&integration, now) {
                Ok(()) => break,
                Err(at) if at - now <= PACING_WAIT_IN_PLACE_MS => {
                    tokio::time::sleep(Duration::from_millis((at - now).max(1) as u64)).await;
                }
                Err(at) => {
                    let error = format!(
                        "paced: integration `{integration_id}` is at its send limit ({})",
                        Pacing::limits_of(&integration)
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    let retry = SendRecord::Retry {
                        error,
                        at,
                        uncount: true,
                    };
                    self.record(&id, attempts, retry).await;
                    return None;
                }
            }
        }
        // A claim only this sender holds for its lease: a request that would start too late to
        // end within it (this host stalled, or lost the store) is left for whoever claims the
        // message next, rather than risk two sends.
        let start_by = claimed_at + Duration::from_millis(CLAIM_MARGIN_MS as u64 / 2);
        let started = std::time::Instant::now();
        let (result, kept) = self
            .attempt(
                &integration,
                &message,
                &conversation,
                public_reply_to,
                start_by,
                kept,
            )
            .await;
        let Some(result) = result else {
            tracing::warn!(message = %id, "a claimed send started too late; it is left to the next claim");
            return None;
        };
        let now = now_ms();
        let config = &self.config;
        let retry_policy = RetryPolicy {
            backoff_ms: config.backoff_ms as i64,
            max_retry_after_ms: config.max_retry_after_ms as i64,
        };
        // When a retryable failure is tried again: a rate limit with a named end holds the
        // message whatever its attempts; anything else retries up to `max_attempts`.
        let after = match &result {
            SendResult::Failed(failure) => Some(retry_policy.after_failure(
                failure,
                attempts,
                config.max_attempts as i64,
                now,
                jitter(),
            )),
            SendResult::Sent(_) => None,
        };
        if let Some(until) = after.and_then(|a| a.pause_until) {
            self.pauses.pause(&integration_id, until);
        }
        let retry = match after.map(|a| a.next) {
            Some(Next::Retry(retry)) => Some(retry.at),
            _ => None,
        };
        // Timed before the counters below move, so a reader that sees a send counted sees it
        // timed too.
        let outcome = match &result {
            SendResult::Sent(_) => "sent",
            SendResult::Failed(SendFailure::Auth(_)) => "retry",
            SendResult::Failed(_) if retry.is_some() => "retry",
            SendResult::Failed(_) => "failed",
        };
        self.metrics
            .send_attempt(&integration_id, outcome, started.elapsed().as_secs_f64());
        let record = match &result {
            SendResult::Sent(platform_id) => {
                self.metrics.outbound_sent(&integration_id);
                SendRecord::Sent {
                    platform_id: platform_id.clone(),
                }
            }
            SendResult::Failed(failure) if retry.is_some() => {
                let at = retry.unwrap_or(now);
                self.metrics.outbound_retry(&integration_id, failure.code());
                let error = format!("{}: {}", failure.code(), failure.detail());
                tracing::warn!(message = %id, integration = %integration_id, attempts, "send failed, retrying in {} ms: {error}", at - now);
                SendRecord::Retry {
                    error,
                    at,
                    uncount: false,
                }
            }
            SendResult::Failed(SendFailure::Auth(detail)) => {
                // Wrong or revoked credentials: stop sending for this integration until an admin
                // re-authorizes it; the message waits, pending.
                self.metrics.outbound_retry(&integration_id, "auth");
                tracing::error!(integration = %integration_id, "the platform refused the credentials; integration deauthorized: {detail}");
                self.integrations
                    .set_deauthorized(&integration_id, detail)
                    .await;
                SendRecord::Retry {
                    error: format!("auth: {detail}"),
                    at: now + DEAUTHORIZED_RECHECK_MS,
                    uncount: false,
                }
            }
            SendResult::Failed(failure) => {
                self.metrics
                    .outbound_failed(&integration_id, failure.code());
                let error = format!("{}: {}", failure.code(), failure.detail());
                tracing::error!(message = %id, integration = %integration_id, attempts, "send failed: {error}");
                SendRecord::Failed { error }
            }
        };
        let claimed_at = Instant::now();
        let recorded = match record {
            SendRecord::Sent { platform_id } => {
                self.store
                    .record_sent_and_claim_next(
                        &id,
                        &conversation.id,
                        attempts,
                        platform_id,
                        now,
                        self.lease_ms(),
                    )
                    .await
            }
            record => self
                .store_record(&id, attempts, record, now)
                .await
                .map(|()| None),
        };
        let next = match recorded {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(message = %id, "cannot record the send result: {e:#}");
                return None;
            }
        };
        let (status, error) = match &result {
            SendResult::Sent(_) => ("sent", None),
            SendResult::Failed(f) if retry.is_some() => ("pending", Some(f.detail().to_string())),
            SendResult::Failed(SendFailure::Auth(d)) => ("pending", Some(d.clone())),
            SendResult::Failed(f) => ("failed", Some(format!("{}: {}", f.code(), f.detail()))),
        };
        self.live.notify_holder(
            conversation.agent.as_deref(),
            "delivery_status",
            serde_json::json!({ "interaction": conversation.id, "message_id": id, "status": status, "error": error }),
        );
        next.map(|next| (next, claimed_at, kept))
    }

    /// One attempt: the policy, the daily cap, then the request, which must start by `start_by`
    /// (`None`: too late, nothing was sent). Returns the adapter's instance with the result.
    async fn attempt(
        &self,
        integration: &Arc<Integration>,
        message: &Message,
        conversation: &Conversation,
        public: Option<String>,
        start_by: Instant,
        kept: Option<OneSend>,
    ) -> (Option<SendResult>, Option<OneSend>) {
        let info = &integration.info;
        let now = now_ms();
        let fitted = policy::fit(
            info,
            message.text.as_deref(),
            &message.quick_replies,
            &message.attachments,
        );
        let text = fitted.text;
        let outgoing = Outgoing {
            author: message.author,
            text: text.as_deref(),
            template: message.template.is_some(),
            last_customer_written_at: conversation.last_customer_written_at,
        };
        let tag = match policy::check(info, outgoing, now) {
            Ok(tag) => tag,
            Err(Refusal::WindowClosed(reason)) => {
                let failure = SendFailure::WindowClosed(reason);
                return (Some(SendResult::Failed(failure)), kept);
            }
            Err(refusal) => {
                let failure = SendFailure::Permanent(refusal.message().to_string());
                return (Some(SendResult::Failed(failure)), kept);
            }
        };
        let outbound = OutboundMessage {
            id: message.id.clone(),
            conversation_id: conversation.id.clone(),
            customer_id: conversation.customer_id.clone(),
            text,
            quick_replies: fitted.quick_replies,
            attachments: fitted.attachments,
            author: message.author,
            author_name: message
                .agent
                .as_deref()
                .and_then(|a| self.agents.display_name(a)),
            in_reply_to: public.clone().or_else(|| message.in_reply_to.clone()),
            kind: if public.is_some() {
                OutboundKind::PublicReply
            } else {
                OutboundKind::Direct
            },
            template: message.template.clone(),
            tag,
        };
        // The daily cap: reserve one send before it goes out, give it back if it does not.
        let reserved = match integration.config.size {
            Some(size) => {
                match self
                    .store
                    .reserve_daily_send(&integration.config.id, size.daily_cap(), now)
                    .await
                {
                    Ok(true) => true,
                    Ok(false) => {
                        let failure = SendFailure::DailyCapReached(policy::cap_message(
                            &integration.config.id,
                            size,
                        ));
                        return (Some(SendResult::Failed(failure)), kept);
                    }
                    Err(e) => {
                        let failure =
                            SendFailure::Transient(format!("cannot count today's sends: {e:#}"));
                        return (Some(SendResult::Failed(failure)), kept);
                    }
                }
            }
            None => false,
        };
        let (result, kept) = self
            .perform(integration, message, &outbound, start_by, kept)
            .await;
        if reserved
            && !matches!(result, Some(SendResult::Sent(_)))
            && let Err(e) = self
                .store
                .release_daily_send(&integration.config.id, now)
                .await
        {
            tracing::warn!("cannot give back a daily-cap reservation: {e:#}");
        }
        (result, kept)
    }

    async fn perform(
        &self,
        integration: &Arc<Integration>,
        message: &Message,
        outbound: &OutboundMessage,
        start_by: Instant,
        kept: Option<OneSend>,
    ) -> (Option<SendResult>, Option<OneSend>) {
        let (request, mut send) = match integration.send(&self.metrics, outbound, kept).await {
            Ok((Ok(request), send)) => (request, send),
            Ok((Err(e), send)) => {
                let failure =
                    SendFailure::Permanent(format!("the adapter refused the message: {e}"));
                return (Some(SendResult::Failed(failure)), Some(send));
            }
            Err(e) => {
                let failure = SendFailure::Transient(e.to_string());
                return (Some(SendResult::Failed(failure)), None);
            }
        };
        // Checked last, right before the request: the daily cap's count and the adapter's
        // encoding may have taken long.
        if Instant::now() > start_by {
            return (None, None);
        }
        let (status, headers, body) = match perform(&self.http, request).await {
            Ok(answer) => answer,
            Err(failure) => return (Some(SendResult::Failed(failure)), Some(send)),
        };
        // The end of a rate limit as the headers name it, for an adapter that did not read it
        // (an HTTP-date `Retry-After`, an `x-rate-limit-reset` it does not know).
        let named = named_retry_at(&headers, now_ms());
        let decoded = send
            .decode(&self.metrics, &message.id, status, headers, body)
            .await;
        let result = match decoded {
            Ok(SendResult::Failed(SendFailure::RateLimited {
                retry_at_ms: None,
                detail,
            })) => SendResult::Failed(SendFailure::RateLimited {
                retry_at_ms: named.map(|at| at.max(0) as u64),
                detail,
            }),
            Ok(result) => result,
            // The platform took the message (2xx) but the adapter could not read its answer
            // (a trap, its deadline): sending again would reach the customer twice. It counts
            // as sent, without a platform id (receipts cannot be matched to it).
            Err(e) if (200..300).contains(&status) => {
                tracing::error!(
                    message = %message.id,
                    integration = %integration.config.id,
                    "the platform accepted the message (HTTP {status}) but the adapter could not read the answer; recorded as sent without a platform id: {e}"
                );
                SendResult::Sent(String::new())
            }
            Err(e) => SendResult::Failed(SendFailure::Transient(e.to_string())),
        };
        (Some(result), Some(send))
    }
}
