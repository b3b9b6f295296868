//! Sending: pending outbound messages go through the adapter's `encode-send`, the host performs
//! the HTTP request with a timeout, and the adapter's `decode-send-response` says whether the
//! platform took it. Transient failures and rate limits are retried with exponential backoff
//! (or at the time the platform names); everything else is recorded as failed with its reason.
//!
//! Messages are durable before they are sent (they are stored `pending` in the same
//! transaction as what caused them), so a crash only delays them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::app::{App, Integration};
use crate::config::IntegrationSize;
use crate::events::{Author, MessageKind, OutboundKind, OutboundMessage, SendFailure, SendResult};
use crate::store::{self, Conversation, Message};

/// The longest wait between retries.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;
/// How often a message of a deauthorized integration is looked at again (re-authorizing wakes
/// them at once).
const DEAUTHORIZED_RECHECK_MS: i64 = 60 * 1000;

/// Checks the platform's reply window for a message to a customer who last wrote at
/// `last_customer_at`. `Ok(Some(tag))` when the message may go out only with that tag
/// (`HUMAN_AGENT`), `Err` with the reason when it may not go out at all.
pub fn window_tag(
    info: &crate::runtime::AdapterInfo,
    last_customer_at: i64,
    author: Author,
    template: bool,
    now: i64,
) -> Result<Option<String>, String> {
    let Some(hours) = info.reply_window_hours else {
        return Ok(None);
    };
    let since = now - last_customer_at;
    if since <= hours as i64 * HOUR_MS || template {
        return Ok(None);
    }
    if author == Author::Agent
        && let Some(agent_hours) = info.human_agent_window_hours
        && since <= agent_hours as i64 * HOUR_MS
    {
        return Ok(Some("HUMAN_AGENT".into()));
    }
    let ago = since / HOUR_MS;
    Err(
        match (info.capabilities.templates, info.human_agent_window_hours) {
            (true, _) => format!(
                "{} allows free text only within {hours} h of the customer's last message ({ago} h ago); send a template",
                info.platform
            ),
            (false, Some(agent_hours)) => format!(
                "{} allows messages within {hours} h of the customer's last message, and agent replies within {agent_hours} h ({ago} h ago)",
                info.platform
            ),
            (false, None) => format!(
                "{} allows messages only within {hours} h of the customer's last message ({ago} h ago)",
                info.platform
            ),
        },
    )
}

const HOUR_MS: i64 = 3_600_000;

pub fn cap_message(integration: &str, size: IntegrationSize) -> String {
    format!(
        "integration `{integration}` ({} size) has sent its {} messages for today (UTC); sending resumes tomorrow",
        match size {
            IntegrationSize::Entry => "entry",
            IntegrationSize::Small => "small",
            IntegrationSize::Medium => "medium",
            IntegrationSize::Large => "large",
        },
        size.daily_cap()
    )
}

/// How long a claim on a message lasts beyond the request's own timeout: a sender that has
/// not recorded the result by then is taken to have died, and the message is due again.
const CLAIM_MARGIN_MS: i64 = 30_000;

/// Runs forever: claims due messages and sends them, at most `outbound.concurrency` at once.
///
/// Every message is claimed in the store (pending → sending, its attempt counted) before its
/// request, and only what the claim returned is sent: a message is never in two sends at once,
/// whatever this loop read earlier, and a retry is claimed only once its backoff has passed.
pub async fn run(app: Arc<App>) {
    let client = app.http.clone();
    let concurrency = app.config.outbound.concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    let lease_ms = app.config.outbound.timeout_ms as i64 + CLAIM_MARGIN_MS;
    // This process is the store's only sender: a claim still open is one a crash interrupted.
    match app
        .store
        .call(|c| store::messages::release_all_claims(c, store::now_ms()))
        .await
    {
        Ok(0) => {}
        Ok(n) => tracing::warn!(
            "{n} message(s) were being sent when the host stopped; they may have reached the \
             platform and are sent again"
        ),
        Err(e) => tracing::error!("cannot release unfinished sends: {e:#}"),
    }
    loop {
        let wake = app.outbound_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let free = permits.available_permits();
        let next_due = if free == 0 {
            // Every sender is busy; one that finishes wakes this loop.
            None
        } else {
            let now = store::now_ms();
            let claimed = app
                .store
                .call(move |c| {
                    let mut claimed = Vec::new();
                    for message in store::messages::claim_due(c, now, free, lease_ms)? {
                        let Some(conversation) =
                            store::conversations::get(c, &message.conversation)?
                        else {
                            continue;
                        };
                        // A conversation a mention started is answered in public, each reply
                        // under the post it answers (the customer's latest, for an agent).
                        let started_public = store::messages::first_inbound(c, &conversation.id)?
                            .is_some_and(|first| first.kind == MessageKind::Mention.as_str());
                        let public = match started_public {
                            true => message
                                .in_reply_to
                                .clone()
                                .or(store::messages::latest_inbound(c, &conversation.id)?
                                    .and_then(|latest| latest.platform_id)),
                            false => None,
                        };
                        claimed.push((message, conversation, public));
                    }
                    Ok((claimed, store::messages::next_due_at(c)?))
                })
                .await;
            match claimed {
                Ok((claimed, next_due)) => {
                    let full = claimed.len() == free;
                    for (message, conversation, public) in claimed {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            return;
                        };
                        let (app, client) = (app.clone(), client.clone());
                        tokio::spawn(async move {
                            send_one(&app, &client, message, conversation, public).await;
                            drop(permit);
                            app.outbound_wake.notify_one();
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
        let wait = next_due.map_or(1000, |at| (at - store::now_ms()).clamp(20, 1000));
        tokio::select! {
            _ = &mut wake => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
}

/// Performs a request an adapter built. A network failure is transient.
pub async fn http_call(
    client: &reqwest::Client,
    request: crate::runtime::HttpRequest,
) -> Result<(u16, Vec<(String, String)>, Vec<u8>), SendFailure> {
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return Err(SendFailure::Permanent(format!(
            "the adapter asked for HTTP method `{}`",
            request.method
        )));
    };
    let mut builder = client.request(method, &request.url).body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| SendFailure::Transient(format!("request to {} failed: {e}", request.url)))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = response.bytes().await.map_err(|e| {
        SendFailure::Transient(format!("reading the answer of {} failed: {e}", request.url))
    })?;
    Ok((status, headers, body.to_vec()))
}

/// Renders quick replies into the text for a platform that cannot show them as buttons; the
/// flow accepts the number or the label as the answer.
pub fn text_with_options(text: Option<&str>, options: &[crate::events::QuickReply]) -> String {
    let mut out = text.unwrap_or_default().to_string();
    if !out.is_empty() {
        out.push_str("\n\n");
    }
    for (i, option) in options.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("{}. {}", i + 1, option.label));
    }
    out
}

async fn send_one(
    app: &App,
    client: &reqwest::Client,
    message: Message,
    conversation: Conversation,
    public: Option<String>,
) {
    // The attempt this send holds the claim for (counted when it was claimed).
    let attempts = message.attempts;
    let id = message.id.clone();
    let Some(integration) = app.sender_for(&conversation.integration) else {
        let error = format!(
            "integration `{}` is no longer configured",
            conversation.integration
        );
        let now = store::now_ms();
        if let Err(e) = app
            .store
            .call(move |c| store::messages::mark_failed(c, &id, &error, attempts, now))
            .await
        {
            tracing::error!("cannot record a send result: {e:#}");
        }
        return;
    };
    let integration_id = integration.config.id.clone();
    let config = &app.config.outbound;
    if let Some((_, reason)) = app.deauthorized(&integration_id) {
        // Kept, not lost: it goes out once an admin re-authorizes the integration.
        let (id, now) = (id.clone(), store::now_ms());
        let error = format!(
            "auth: integration `{integration_id}` is deauthorized ({reason}); waiting for re-authorization"
        );
        let at = now + DEAUTHORIZED_RECHECK_MS;
        if let Err(e) = app
            .store
            .call(move |c| store::messages::schedule_retry(c, &id, &error, attempts, at, now, true))
            .await
        {
            tracing::error!("cannot record a send result: {e:#}");
        }
        return;
    }
    let result = attempt(app, client, &integration, &message, &conversation, public).await;
    let now = store::now_ms();
    let outcome = match &result {
        SendResult::Sent(platform_id) => {
            app.metrics.outbound_sent(&integration_id);
            let (id, platform_id) = (id.clone(), platform_id.clone());
            app.store
                .call(move |c| store::messages::mark_sent(c, &id, &platform_id, attempts, now))
                .await
        }
        SendResult::Failed(failure)
            if failure.is_retryable() && attempts < config.max_attempts as i64 =>
        {
            app.metrics.outbound_retry(&integration_id, failure.code());
            let backoff = (config.backoff_ms as i64)
                .saturating_mul(1 << (attempts - 1).min(20))
                .min(MAX_BACKOFF_MS);
            let at = match failure {
                SendFailure::RateLimited {
                    retry_at_ms: Some(at),
                    ..
                } => (*at as i64).max(now),
                _ => now + backoff,
            };
            let error = format!("{}: {}", failure.code(), failure.detail());
            tracing::warn!(message = %id, integration = %integration_id, attempts, "send failed, retrying in {} ms: {error}", at - now);
            let id = id.clone();
            app.store
                .call(move |c| {
                    store::messages::schedule_retry(c, &id, &error, attempts, at, now, false)
                })
                .await
        }
        SendResult::Failed(SendFailure::Auth(detail)) => {
            // Wrong or revoked credentials: stop sending for this integration until an admin
            // re-authorizes it; the message waits, pending.
            app.metrics.outbound_retry(&integration_id, "auth");
            tracing::error!(integration = %integration_id, "the platform refused the credentials; integration deauthorized: {detail}");
            app.set_deauthorized(&integration_id, detail).await;
            let error = format!("auth: {detail}");
            let id = id.clone();
            app.store
                .call(move |c| {
                    store::messages::schedule_retry(
                        c,
                        &id,
                        &error,
                        attempts,
                        now + DEAUTHORIZED_RECHECK_MS,
                        now,
                        false,
                    )
                })
                .await
        }
        SendResult::Failed(failure) => {
            app.metrics.outbound_failed(&integration_id, failure.code());
            let error = format!("{}: {}", failure.code(), failure.detail());
            tracing::error!(message = %id, integration = %integration_id, attempts, "send failed: {error}");
            let id = id.clone();
            app.store
                .call(move |c| store::messages::mark_failed(c, &id, &error, attempts, now))
                .await
        }
    };
    if let Err(e) = outcome {
        tracing::error!(message = %id, "cannot record the send result: {e:#}");
        return;
    }
    let (status, error) = match &result {
        SendResult::Sent(_) => ("sent", None),
        SendResult::Failed(f) if f.is_retryable() && attempts < config.max_attempts as i64 => {
            ("pending", Some(f.detail().to_string()))
        }
        SendResult::Failed(SendFailure::Auth(d)) => ("pending", Some(d.clone())),
        SendResult::Failed(f) => ("failed", Some(format!("{}: {}", f.code(), f.detail()))),
    };
    app.notify_agent(
        conversation.agent.as_deref(),
        "delivery_status",
        serde_json::json!({ "interaction": conversation.id, "message_id": id, "status": status, "error": error }),
    );
}

async fn attempt(
    app: &App,
    client: &reqwest::Client,
    integration: &Integration,
    message: &Message,
    conversation: &Conversation,
    public: Option<String>,
) -> SendResult {
    let info = &integration.info;
    let now = store::now_ms();
    let tag = match window_tag(
        info,
        conversation.last_customer_written_at,
        message.author,
        message.template.is_some(),
        now,
    ) {
        Ok(tag) => tag,
        Err(reason) => return SendResult::Failed(SendFailure::WindowClosed(reason)),
    };
    let (text, quick_replies) =
        if !message.quick_replies.is_empty() && !info.capabilities.quick_replies {
            (
                Some(text_with_options(
                    message.text.as_deref(),
                    &message.quick_replies,
                )),
                Vec::new(),
            )
        } else {
            (message.text.clone(), message.quick_replies.clone())
        };
    if let Some(text) = &text {
        let len = info.text_len(text);
        if len > info.text_limit as usize {
            return SendResult::Failed(SendFailure::Permanent(format!(
                "the text is {len} long; {} allows {}",
                info.platform, info.text_limit
            )));
        }
    }
    let author_name = message
        .agent
        .as_deref()
        .and_then(|a| app.agent(a))
        .map(|a| a.name.clone().unwrap_or_else(|| a.id.clone()));
    let outbound = OutboundMessage {
        id: message.id.clone(),
        conversation_id: conversation.id.clone(),
        customer_id: conversation.customer_id.clone(),
        text,
        quick_replies,
        attachments: message.attachments.clone(),
        author: message.author,
        author_name,
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
            let id = integration.config.id.clone();
            match app
                .store
                .call(move |c| store::integrations::reserve_send(c, &id, size.daily_cap(), now))
                .await
            {
                Ok(Some(_)) => true,
                Ok(None) => {
                    return SendResult::Failed(SendFailure::DailyCapReached(cap_message(
                        &integration.config.id,
                        size,
                    )));
                }
                Err(e) => {
                    return SendResult::Failed(SendFailure::Transient(format!(
                        "cannot count today's sends: {e:#}"
                    )));
                }
            }
        }
        None => false,
    };
    let result = perform(app, client, integration, message, &outbound).await;
    if reserved && !matches!(result, SendResult::Sent(_)) {
        let id = integration.config.id.clone();
        if let Err(e) = app
            .store
            .call(move |c| store::integrations::release_send(c, &id, now))
            .await
        {
            tracing::warn!("cannot give back a daily-cap reservation: {e:#}");
        }
    }
    result
}

async fn perform(
    app: &App,
    client: &reqwest::Client,
    integration: &Integration,
    message: &Message,
    outbound: &OutboundMessage,
) -> SendResult {
    let request = match app.encode_send(integration, outbound).await {
        Ok(Ok(request)) => request,
        Ok(Err(e)) => {
            return SendResult::Failed(SendFailure::Permanent(format!(
                "the adapter refused the message: {e}"
            )));
        }
        Err(e) => return SendResult::Failed(SendFailure::Transient(e.to_string())),
    };
    let Ok(method) = reqwest::Method::from_bytes(request.method.as_bytes()) else {
        return SendResult::Failed(SendFailure::Permanent(format!(
            "the adapter asked for HTTP method `{}`",
            request.method
        )));
    };
    let mut builder = client.request(method, &request.url).body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let response = match builder.send().await {
        Ok(response) => response,
        Err(e) => {
            return SendResult::Failed(SendFailure::Transient(format!(
                "request to {} failed: {e}",
                request.url
            )));
        }
    };
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = match response.bytes().await {
        Ok(body) => body.to_vec(),
        Err(e) => {
            return SendResult::Failed(SendFailure::Transient(format!(
                "reading the answer of {} failed: {e}",
                request.url
            )));
        }
    };
    match app
        .decode_send_response(integration, &message.id, status, headers, body)
        .await
    {
        Ok(result) => result,
        Err(e) => SendResult::Failed(SendFailure::Transient(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::{AdapterInfo, Capabilities, TextUnit};

    fn info(window: Option<u32>, agent_window: Option<u32>, templates: bool) -> AdapterInfo {
        AdapterInfo {
            platform: "p".into(),
            text_limit: 100,
            text_unit: TextUnit::Chars,
            reply_window_hours: window,
            human_agent_window_hours: agent_window,
            capabilities: Capabilities {
                templates,
                ..Default::default()
            },
        }
    }

    const H: i64 = HOUR_MS;

    #[test]
    fn reply_windows() {
        let now = 1000 * H;
        // No window: anything goes.
        assert_eq!(
            window_tag(&info(None, None, false), 0, Author::Bot, false, now),
            Ok(None)
        );
        // WhatsApp-like: free text within 24 h; a template after.
        let wa = info(Some(24), None, true);
        assert_eq!(
            window_tag(&wa, now - 23 * H, Author::Agent, false, now),
            Ok(None)
        );
        let refused = window_tag(&wa, now - 25 * H, Author::Agent, false, now).unwrap_err();
        assert!(refused.contains("send a template"), "{refused}");
        assert_eq!(
            window_tag(&wa, now - 25 * H, Author::Agent, true, now),
            Ok(None)
        );
        // Messenger-like: agents may answer with HUMAN_AGENT up to 7 days, bots may not.
        let fb = info(Some(24), Some(168), false);
        assert_eq!(
            window_tag(&fb, now - 30 * H, Author::Agent, false, now),
            Ok(Some("HUMAN_AGENT".into()))
        );
        assert!(window_tag(&fb, now - 30 * H, Author::Bot, false, now).is_err());
        assert!(window_tag(&fb, now - 169 * H, Author::Agent, false, now).is_err());
    }
}
