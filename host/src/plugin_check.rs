//! `switchboard plugin check FILE.wasm --fixtures DIR`: the adapter suite a partner runs on their
//! own component, from any folder, with nothing of this workspace. What the platform looks like
//! (the settings, how webhooks are signed, what each fixture should give) is data, a
//! `check.toml` in the fixtures folder, not code; and only what the component declares in
//! `describe()` is asked of it (a text-only platform is never asked to encode attachments or
//! quick replies: the host turns those into text for it).
//!
//! ```toml
//! [settings]                      # given to the adapter, as an integration's settings
//! secret = "fixture-secret"
//! webhook_url = "http://127.0.0.1:9/partner"
//! [signature]                     # optional: HMAC-SHA256 of the raw body
//! header = "x-signature-256"
//! setting = "secret"              # the key
//! prefix = "sha256="
//! encoding = "base64"             # or "hex"
//! [webhooks]                      # each webhook body and what it gives
//! "message.json" = "events"       # or "nothing" (an echo, a kind it ignores)
//! [[answers]]                     # optional: the platform's answers to a send
//! status = 200
//! body = '{"id":"p-1"}'
//! expect = "sent"                 # or a failure code: rate_limited, auth, transient, ...
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::events::SendResult;
use crate::events::{
    Attachment, AttachmentKind, Author, OutboundKind, OutboundMessage, QuickReply,
};
use crate::runtime::{
    AdapterError, AdapterPlugin, CallContext, Loaded, PluginRuntime, WebhookRequest,
};

/// The profile of a platform (see the module docs).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    pub signature: Option<Signature>,
    #[serde(default)]
    pub webhooks: BTreeMap<String, Yields>,
    /// Fixture files that are not webhook bodies (expected requests, for the adapter's own tests).
    #[serde(default)]
    pub other: Vec<String>,
    #[serde(default)]
    pub answers: Vec<Answer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub header: String,
    pub setting: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "base64_name")]
    pub encoding: String,
}

fn base64_name() -> String {
    "base64".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Yields {
    Events,
    Nothing,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub status: u16,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub expect: String,
}

/// What the suite found: each check with whether it passed.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<(bool, String)>,
}

impl Report {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        self.checks.push((ok, what.into()));
    }

    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(ok, _)| *ok)
    }

    /// `ok   what` / `FAIL what`, then a summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (ok, what) in &self.checks {
            out.push_str(if *ok { "ok   " } else { "FAIL " });
            out.push_str(what);
            out.push('\n');
        }
        let failed = self.checks.iter().filter(|(ok, _)| !ok).count();
        out.push_str(&match failed {
            0 => format!("passed: {} checks\n", self.checks.len()),
            n => format!("FAILED: {n} of {} checks\n", self.checks.len()),
        });
        out
    }
}

/// HMAC-SHA256 (RFC 2104), as platforms sign webhooks.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

impl Profile {
    /// The signature header for `body` signed with `key`, if the platform signs.
    fn sign(&self, key: &str, body: &[u8]) -> Vec<(String, String)> {
        let Some(sig) = &self.signature else {
            return Vec::new();
        };
        let mac = hmac_sha256(key.as_bytes(), body);
        let encoded = match sig.encoding.as_str() {
            "hex" => hex::encode(mac),
            _ => base64::engine::general_purpose::STANDARD.encode(mac),
        };
        vec![(sig.header.clone(), format!("{}{encoded}", sig.prefix))]
    }

    fn key(&self) -> &str {
        self.signature
            .as_ref()
            .and_then(|s| self.settings.get(&s.setting))
            .map_or("", String::as_str)
    }
}

/// Runs the adapter suite on `file` with the profile and fixtures of `fixtures`.
pub async fn check(file: &Path, fixtures: &Path) -> anyhow::Result<Report> {
    let profile_path = fixtures.join("check.toml");
    let text = std::fs::read_to_string(&profile_path).with_context(|| {
        format!(
            "cannot read {} (see `switchboard plugin check --help`)",
            profile_path.display()
        )
    })?;
    let profile: Profile =
        toml::from_str(&text).with_context(|| format!("in {}", profile_path.display()))?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    let runtime = PluginRuntime::new(&Default::default())?;
    let grant = crate::config::PluginGrant::none(&name);
    let mut report = Report::default();
    let adapter = match runtime.load(&name, bytes, &grant).await {
        Ok(Loaded::Adapter(adapter)) => adapter,
        Ok(Loaded::Flow(_)) => {
            report.check(false, "a channel adapter (this component is a flow plugin)");
            return Ok(report);
        }
        Err(e) => {
            report.check(false, format!("loads as the host loads it: {e}"));
            return Ok(report);
        }
    };
    report.check(true, "loads as the host loads it");
    let ctx = CallContext {
        integration_id: format!("check-{name}"),
        settings: Arc::new(profile.settings.clone()),
    };
    let info = match adapter.describe(&ctx).await {
        Ok(info) => info,
        Err(e) => {
            report.check(
                false,
                format!("describe() with the profile's settings: {e}"),
            );
            return Ok(report);
        }
    };
    report.check(
        info.text_limit > 0,
        format!(
            "describe(): platform `{}`, text limit {}",
            info.platform, info.text_limit
        ),
    );
    webhooks(&adapter, &ctx, &profile, fixtures, &mut report).await?;
    sends(&adapter, &ctx, &profile, &info.capabilities, &mut report).await;
    Ok(report)
}

async fn webhook(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Result<crate::runtime::WebhookOutcome, AdapterError>, String> {
    let request = WebhookRequest {
        method: "POST".into(),
        path: "/webhooks/check".into(),
        query: String::new(),
        headers: [
            vec![("content-type".to_string(), "application/json".to_string())],
            headers,
        ]
        .concat(),
        body: body.to_vec(),
    };
    adapter
        .handle_webhook(ctx, request)
        .await
        .map_err(|e| e.to_string())
}

async fn webhooks(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    profile: &Profile,
    fixtures: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut files: Vec<String> = std::fs::read_dir(fixtures)
        .with_context(|| format!("cannot list {}", fixtures.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|f| f != "check.toml")
        .collect();
    files.sort();
    for file in &files {
        let known = profile.webhooks.contains_key(file) || profile.other.contains(file);
        report.check(known, format!("{file}: classified in check.toml"));
    }
    let key = profile.key();
    for (file, yields) in &profile.webhooks {
        let body =
            std::fs::read(fixtures.join(file)).with_context(|| format!("cannot read {file}"))?;
        let outcome = webhook(adapter, ctx, profile.sign(key, &body), &body).await;
        let (ok, said) = match &outcome {
            Ok(Ok(o)) => {
                let gave = if o.events.is_empty() {
                    Yields::Nothing
                } else {
                    Yields::Events
                };
                (
                    (200..300).contains(&o.status) && gave == *yields,
                    format!("answered {} with {} event(s)", o.status, o.events.len()),
                )
            }
            Ok(Err(e)) => (false, format!("refused: {e}")),
            Err(e) => (false, format!("failed as a plugin: {e}")),
        };
        report.check(ok, format!("{file}: decodes ({said}; expected {yields:?})"));
        if profile.signature.is_none() {
            continue;
        }
        let tampered = [body.as_slice(), b" "].concat();
        for (what, headers, body) in [
            ("without a signature", Vec::new(), body.clone()),
            (
                "signed with another key",
                profile.sign("not-the-secret", &body),
                body.clone(),
            ),
            ("with a tampered body", profile.sign(key, &body), tampered),
        ] {
            let refused = matches!(
                webhook(adapter, ctx, headers, &body).await,
                Ok(Err(AdapterError::Unauthorized(_)))
            );
            report.check(refused, format!("{file}: refused as unauthorized {what}"));
        }
    }
    // The same bodies as the in-tree compliance suite: a 4 MiB string, a million `[`.
    let oversized = [
        b"{\"data\":\"".as_slice(),
        &vec![b'a'; 4 << 20],
        b"\"".as_slice(),
    ]
    .concat();
    for (what, body) in [
        ("a body that is not JSON", b"this is not json".to_vec()),
        ("a truncated body", b"{\"entry\":[".to_vec()),
        ("a 4 MiB body", oversized),
        ("a body nested a million levels deep", b"[".repeat(1 << 20)),
    ] {
        let outcome = webhook(adapter, ctx, profile.sign(key, &body), &body).await;
        let ok = matches!(outcome, Ok(Err(AdapterError::Malformed(_))));
        report.check(ok, format!("{what} is refused as malformed (never a trap)"));
    }
    Ok(())
}

async fn sends(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    profile: &Profile,
    can: &crate::events::Capabilities,
    report: &mut Report,
) {
    let base = ["api_base", "webhook_url"]
        .iter()
        .find_map(|k| profile.settings.get(*k));
    let mut kinds = vec!["text", "agent"];
    if can.quick_replies {
        kinds.push("quick replies");
    }
    if can.attachments {
        kinds.push("attachment");
    }
    for kind in kinds {
        let said = match adapter.encode_send(ctx, &outbound(kind)).await {
            Ok(Ok(r)) => {
                let ok = r.method == "POST"
                    && base.is_none_or(|b| r.url.starts_with(b.as_str()))
                    && !r.body.is_empty();
                (ok, format!("{} {}", r.method, r.url))
            }
            Ok(Err(e)) => (false, format!("refused: {e}")),
            Err(e) => (false, format!("failed as a plugin: {e}")),
        };
        report.check(
            said.0,
            format!("encodes {kind} as a request to the platform ({})", said.1),
        );
    }
    for answer in &profile.answers {
        let headers = answer
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let got = match adapter
            .decode_send_response(
                ctx,
                "m-check-1",
                answer.status,
                headers,
                answer.body.clone().into_bytes(),
            )
            .await
        {
            Ok(SendResult::Sent(_)) => "sent".to_string(),
            Ok(SendResult::Failed(f)) => f.code().to_string(),
            Err(e) => format!("a plugin failure ({e})"),
        };
        report.check(
            got == answer.expect,
            format!(
                "answer {} reads as {got} (expected {})",
                answer.status, answer.expect
            ),
        );
    }
}

fn outbound(kind: &str) -> OutboundMessage {
    let mut message = OutboundMessage {
        id: "m-check-1".into(),
        conversation_id: "c-check".into(),
        customer_id: "customer-check-1".into(),
        text: Some("Hello from switchboard plugin check".into()),
        quick_replies: Vec::new(),
        attachments: Vec::new(),
        author: Author::Bot,
        author_name: None,
        in_reply_to: None,
        kind: OutboundKind::Direct,
        template: None,
        tag: None,
    };
    match kind {
        "agent" => {
            message.author = Author::Agent;
            message.author_name = Some("Alice".into());
        }
        "quick replies" => {
            message.quick_replies = vec![QuickReply {
                label: "Yes".into(),
                payload: "yes".into(),
            }];
        }
        "attachment" => {
            message.text = None;
            message.attachments = vec![Attachment {
                kind: AttachmentKind::Image,
                url: Some("https://example.invalid/p.png".into()),
                media_id: None,
                mime_type: Some("image/png".into()),
                filename: Some("p.png".into()),
                caption: None,
            }];
        }
        _ => {}
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_reference_vector() {
        // Genesys's test vector (channel-wire-formats §6.6).
        let body = br#"{"id":"msg-0001","type":"Text","text":"hi","direction":"Outbound"}"#;
        let mac = hmac_sha256(b"fixture-genesys-secret", body);
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(mac),
            "klH9Q8l/R1Mu8Qpggwr+0C7S5T5WUTu9tQc8CZnwqRM="
        );
    }
}
