//! Sending: pending outbound messages go through the adapter's `encode-send`, the host performs
//! the HTTP request with a timeout, and the adapter's `decode-send-response` says whether the
//! platform took it. Transient failures and rate limits are retried with exponential backoff
//! (or at the time the platform names); everything else is recorded as failed with its reason.
//!
//! Messages are durable before they are sent (they are stored `pending` in the same
//! transaction as what caused them), so a crash only delays them.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::app::{App, Integration};
use crate::events::{OutboundMessage, SendFailure, SendResult};
use crate::store::{self, Conversation, Message};

/// The longest wait between retries.
const MAX_BACKOFF_MS: i64 = 5 * 60 * 1000;

/// Runs forever: picks due messages and sends them, at most `outbound.concurrency` at once.
pub async fn run(app: Arc<App>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_millis(app.config.outbound.timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!("cannot build the HTTP client; nothing will be sent: {e}");
            return;
        }
    };
    let permits = Arc::new(Semaphore::new(app.config.outbound.concurrency.max(1)));
    let in_flight: Arc<Mutex<HashSet<String>>> = Default::default();
    loop {
        let wake = app.outbound_wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let now = store::now_ms();
        let due = app
            .store
            .call(move |c| {
                let mut due = Vec::new();
                for message in store::messages::due(c, now, 256)? {
                    if let Some(conversation) = store::conversations::get(c, &message.conversation)?
                    {
                        due.push((message, conversation));
                    }
                }
                Ok((due, store::messages::next_due_at(c)?))
            })
            .await;
        let next_due = match due {
            Ok((due, next_due)) => {
                for (message, conversation) in due {
                    if !in_flight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(message.id.clone())
                    {
                        continue;
                    }
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        return;
                    };
                    let (app, client, in_flight) = (app.clone(), client.clone(), in_flight.clone());
                    tokio::spawn(async move {
                        let id = message.id.clone();
                        send_one(&app, &client, message, conversation).await;
                        in_flight
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .remove(&id);
                        drop(permit);
                        app.outbound_wake.notify_one();
                    });
                }
                next_due
            }
            Err(e) => {
                tracing::error!("cannot read the outbound queue: {e:#}");
                None
            }
        };
        // Sleep until the next retry falls due (never spin on in-flight ones), or a wake-up.
        let wait = next_due.map_or(1000, |at| (at - store::now_ms()).clamp(20, 1000));
        tokio::select! {
            _ = &mut wake => {}
            _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
        }
    }
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
) {
    let attempts = message.attempts + 1;
    let id = message.id.clone();
    let integration_id = conversation.integration.clone();
    let result = match app.integration(&integration_id) {
        Some(integration) => attempt(app, client, &integration, &message, &conversation).await,
        None => SendResult::Failed(SendFailure::Permanent(format!(
            "integration `{integration_id}` is no longer configured"
        ))),
    };
    let now = store::now_ms();
    let config = &app.config.outbound;
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
                .call(move |c| store::messages::schedule_retry(c, &id, &error, attempts, at, now))
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
    }
}

async fn attempt(
    app: &App,
    client: &reqwest::Client,
    integration: &Integration,
    message: &Message,
    conversation: &Conversation,
) -> SendResult {
    let info = integration.adapter.info();
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
        in_reply_to: message.in_reply_to.clone(),
        kind: crate::events::OutboundKind::Direct,
        template: None,
        tag: None,
    };
    let request = match app.encode_send(integration, &outbound).await {
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
