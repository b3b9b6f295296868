//! What the simulated platforms received, kept so tests can assert on it.
//!
//! Three logs, because a test asks three different questions: *what reached the customer*
//! ([`Delivered`]), *how often did the host try and what did it get back* ([`Attempt`], for retry
//! tests), and *what did the platform turn away as malformed or unauthenticated* ([`Refused`], which
//! is almost always a host bug and the first place to look when a delivery is missing).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use axum::http::HeaderMap;
use serde::{Serialize, Serializer};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::fixtures::unix_millis;

/// Which simulated platform a record belongs to; serialized as `"x"` or `"open-messaging"`, the
/// host's adapter names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    X,
    OpenMessaging,
    #[serde(rename = "whatsapp")]
    WhatsApp,
    Messenger,
    Instagram,
}

impl Platform {
    /// How the console names a message on this platform.
    fn message_kind(self) -> &'static str {
        match self {
            Platform::X => "X DM",
            Platform::OpenMessaging => "open message",
            Platform::WhatsApp => "WhatsApp message",
            Platform::Messenger => "Messenger message",
            Platform::Instagram => "Instagram message",
        }
    }
}

/// A message the platform accepted: what the customer would see.
#[derive(Debug, Clone, Serialize)]
pub struct Delivered {
    pub platform: Platform,
    /// The host integration it came through (from the bearer token for X, from the URL path for
    /// open messaging).
    pub integration_id: String,
    /// The customer: X's `participant_id`, open messaging's `channel.to.id`.
    pub recipient_id: String,
    /// The id the platform answered with (X's `dm_event_id`, open messaging's `id`), which the host
    /// should have stored for receipts.
    pub platform_message_id: String,
    pub text: Option<String>,
    /// The request body as JSON, for assertions on fields beyond the text.
    pub body: Value,
    #[serde(serialize_with = "headers_as_object")]
    pub headers: HeaderMap,
    #[serde(rename = "received_at_ms", serialize_with = "epoch_millis")]
    pub received_at: SystemTime,
}

/// A Meta sender action (`typing_on`, `typing_off`, `mark_seen`): shown to the customer, not a
/// message.
#[derive(Debug, Clone, Serialize)]
pub struct SenderAction {
    pub platform: Platform,
    pub integration_id: String,
    pub recipient_id: String,
    /// As sent, e.g. `typing_on`.
    pub action: String,
    #[serde(rename = "received_at_ms", serialize_with = "epoch_millis")]
    pub received_at: SystemTime,
}

/// One send call that passed the platform's checks, with the status it was answered with: a
/// delivery (2xx) or a scripted fault (see [`super::Fault`]).
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub platform: Platform,
    pub integration_id: String,
    pub recipient_id: String,
    pub text: Option<String>,
    pub status: u16,
    #[serde(rename = "received_at_ms", serialize_with = "epoch_millis")]
    pub received_at: SystemTime,
}

/// A call the platform turned away for being wrong: bad credentials or signature, an unknown
/// partner path, or a body the platform's schema rejects.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub platform: Platform,
    /// Known when the call named an integration the simulator has (an open-messaging path, a valid
    /// X token).
    pub integration_id: Option<String>,
    pub path: String,
    pub status: u16,
    /// Why, in words meant for the engineer reading a failed test.
    pub reason: String,
    #[serde(serialize_with = "headers_as_object")]
    pub headers: HeaderMap,
    /// The body as received (lossy UTF-8).
    pub body: String,
    #[serde(rename = "received_at_ms", serialize_with = "epoch_millis")]
    pub received_at: SystemTime,
}

/// The simulator's logs, shared by every route; `arrived` wakes [`Records::wait_for_delivered`].
pub(crate) struct Records {
    logs: Mutex<Logs>,
    arrived: Notify,
    verbose: bool,
}

#[derive(Default)]
struct Logs {
    delivered: Vec<Delivered>,
    attempts: Vec<Attempt>,
    refused: Vec<Refused>,
    sender_actions: Vec<SenderAction>,
}

impl Records {
    pub(crate) fn new(verbose: bool) -> Self {
        Self {
            logs: Mutex::default(),
            arrived: Notify::new(),
            verbose,
        }
    }

    /// Records an accepted message, both as delivered and as an attempt answered with `status`.
    pub(crate) fn deliver(&self, delivered: Delivered, status: u16) {
        if self.verbose {
            println!("[sim] {delivered}");
        }
        let attempt = Attempt {
            platform: delivered.platform,
            integration_id: delivered.integration_id.clone(),
            recipient_id: delivered.recipient_id.clone(),
            text: delivered.text.clone(),
            status,
            received_at: delivered.received_at,
        };
        {
            let mut logs = self.lock();
            logs.attempts.push(attempt);
            logs.delivered.push(delivered);
        }
        self.arrived.notify_waiters();
    }

    /// Records a send call answered with a scripted fault.
    pub(crate) fn fail(&self, attempt: Attempt) {
        if self.verbose {
            println!("[sim] {attempt} (scripted fault)");
        }
        self.lock().attempts.push(attempt);
    }

    pub(crate) fn refuse(&self, refused: Refused) {
        if self.verbose {
            println!("[sim] {refused}");
        }
        self.lock().refused.push(refused);
    }

    pub(crate) fn sender_action(&self, action: SenderAction) {
        if self.verbose {
            println!(
                "[sim] {:?} sender action {} to {}",
                action.platform, action.action, action.recipient_id
            );
        }
        self.lock().sender_actions.push(action);
    }

    pub(crate) fn sender_actions(&self) -> Vec<SenderAction> {
        self.lock().sender_actions.clone()
    }

    pub(crate) fn delivered(&self) -> Vec<Delivered> {
        self.lock().delivered.clone()
    }

    pub(crate) fn attempts(&self) -> Vec<Attempt> {
        self.lock().attempts.clone()
    }

    pub(crate) fn refused(&self) -> Vec<Refused> {
        self.lock().refused.clone()
    }

    /// Waits until at least `n` messages were delivered. On timeout the error lists everything the
    /// platforms did receive, so a failing test says why without a rerun.
    pub(crate) async fn wait_for_delivered(
        &self,
        n: usize,
        timeout: Duration,
    ) -> anyhow::Result<Vec<Delivered>> {
        let deadline = Instant::now() + timeout;
        loop {
            // Register interest before looking, so a delivery between the look and the wait still
            // wakes us.
            let arrival = self.arrived.notified();
            tokio::pin!(arrival);
            arrival.as_mut().enable();
            let delivered = self.delivered();
            if delivered.len() >= n {
                return Ok(delivered);
            }
            if Instant::now() >= deadline {
                anyhow::bail!(self.shortfall(n, timeout));
            }
            // Either a delivery or the deadline ends the wait; the loop re-checks both.
            let _ = tokio::time::timeout_at(deadline, arrival).await;
        }
    }

    fn shortfall(&self, n: usize, timeout: Duration) -> String {
        let logs = self.lock();
        let mut report = format!(
            "expected at least {n} delivered message(s) within {timeout:?}, got {}",
            logs.delivered.len()
        );
        for delivered in &logs.delivered {
            report.push_str(&format!("\n  delivered: {delivered}"));
        }
        for attempt in logs
            .attempts
            .iter()
            .filter(|a| !(200..300).contains(&a.status))
        {
            report.push_str(&format!("\n  faulted:   {attempt}"));
        }
        for refused in &logs.refused {
            report.push_str(&format!("\n  refused:   {refused}"));
        }
        report
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Logs> {
        // A panic while holding the lock cannot leave the logs half-written (each change is one
        // push), so a poisoned lock is still safe to read.
        self.logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Display for Delivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} ({}): {}",
            self.platform.message_kind(),
            self.recipient_id,
            self.integration_id,
            preview(self.text.as_deref())
        )
    }
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} ({}) answered {}: {}",
            self.platform.message_kind(),
            self.recipient_id,
            self.integration_id,
            self.status,
            preview(self.text.as_deref())
        )
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refused {}", self.path)?;
        if let Some(integration_id) = &self.integration_id {
            write!(f, " ({integration_id})")?;
        }
        write!(f, " with {}: {}", self.status, self.reason)
    }
}

/// The text on one console line: control characters flattened, long texts cut.
fn preview(text: Option<&str>) -> String {
    const MAX_CHARS: usize = 120;
    let Some(text) = text else {
        return "(no text)".into();
    };
    let mut line: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_CHARS {
        line.push('…');
    }
    line
}

/// The headers as JSON for `/sim/*` listings, credentials hidden: an `authorization` value keeps
/// its scheme only (`Bearer [redacted]`), so a listing shared in a bug report leaks no token.
/// Tests in this process read the real values from the records themselves.
fn headers_as_object<S: Serializer>(headers: &HeaderMap, serializer: S) -> Result<S::Ok, S::Error> {
    let mut object: BTreeMap<&str, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        let value = match name.as_str() {
            "authorization" | "proxy-authorization" | "cookie" => {
                let scheme = value
                    .split_whitespace()
                    .next()
                    .filter(|_| value.contains(' '));
                std::borrow::Cow::Owned(match scheme {
                    Some(scheme) => format!("{scheme} [redacted]"),
                    None => "[redacted]".to_string(),
                })
            }
            _ => value,
        };
        object
            .entry(name.as_str())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    object.serialize(serializer)
}

fn epoch_millis<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(unix_millis(*time))
}
