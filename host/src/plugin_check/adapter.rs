//! The adapter suite. What the platform looks like (the settings, how webhooks are signed, its
//! handshake, what each fixture should give) is the profile, a `check.toml`; and only what the
//! component declares in `describe()` is asked of it (a text-only platform is never asked to
//! encode attachments or quick replies: the host turns those into text for it).
//!
//! ```toml
//! other = ["send-body.json"]      # fixture files that are not webhook bodies
//! unknown_kind = '{"kind":"future"}'  # optional: a well-formed event of a kind it ignores
//! sends = ["template"]            # optional: more outbound kinds (template, public-reply)
//! [settings]                      # given to the adapter, as an integration's settings
//! secret = "fixture-secret"
//! webhook_url = "http://127.0.0.1:9/partner"
//! [signature]                     # optional: HMAC-SHA256 of the raw body
//! header = "x-signature-256"
//! setting = "secret"              # the key
//! prefix = "sha256="
//! encoding = "base64"             # or "hex"
//! [handshake]                     # optional: the platform's GET subscription check
//! query = "hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
//! challenge = "1158201444"
//! answer = "echo"                 # the challenge itself; or "signature": a JSON `field`
//! token = "verify_token"          # echo: the setting `{token}` stands for
//! [webhooks]                      # each webhook body and what it gives
//! "message.json" = "events"       # or "nothing" (an echo, a kind it ignores)
//! [[answers]]                     # optional: the platform's answers to a send
//! status = 200
//! body = '{"id":"p-1"}'
//! expect = "sent"                 # or a failure code: rate_limited, auth, transient, ...
//! ```

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::adapter_profile::{Profile, Yields};
use super::handshake::{self, webhook_request};
use super::report::Report;
use crate::events::SendResult;
use crate::events::{
    Attachment, AttachmentKind, Author, OutboundKind, OutboundMessage, QuickReply, TemplateMessage,
};
use crate::runtime::{AdapterError, AdapterPlugin, CallContext};

/// Runs the adapter suite on `adapter` with `profile`, whose fixture files are in `fixtures`.
pub(super) async fn run(
    adapter: &AdapterPlugin,
    profile: &Profile,
    fixtures: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let ctx = CallContext {
        integration_id: format!("check-{}", adapter.name()),
        settings: Arc::new(profile.settings.clone()),
    };
    let info = match adapter.describe(&ctx).await {
        Ok(info) => info,
        Err(e) => {
            report.check(
                false,
                format!("describe() with the profile's settings: {e}"),
            );
            return Ok(());
        }
    };
    report.check(
        info.text_limit > 0,
        format!(
            "describe(): platform `{}`, text limit {}",
            info.platform, info.text_limit
        ),
    );
    handshake::run(adapter, &ctx, profile, fixtures, report).await?;
    webhooks(adapter, &ctx, profile, fixtures, report).await?;
    sends(adapter, &ctx, profile, &info.capabilities, report).await;
    Ok(())
}

async fn webhook(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Result<crate::runtime::WebhookOutcome, AdapterError>, String> {
    webhook_request(adapter, ctx, "POST", "", headers, body).await
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
        .filter(|f| !super::profiles::is_profile_file(f))
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
        let header = profile.sign(key, &body)[0].0.clone();
        for (what, headers, body) in [
            ("without a signature", Vec::new(), body.clone()),
            (
                "with a bad signature",
                vec![(header, format!("{}AAAA", sig_prefix(profile)))],
                body.clone(),
            ),
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
    if let Some(body) = &profile.unknown_kind {
        let body = body.as_bytes();
        let said = match webhook(adapter, ctx, profile.sign(key, body), body).await {
            Ok(Ok(o)) => (
                (200..300).contains(&o.status) && o.events.is_empty(),
                format!("answered {} with {} event(s)", o.status, o.events.len()),
            ),
            Ok(Err(e)) => (false, format!("refused: {e}")),
            Err(e) => (false, format!("failed as a plugin: {e}")),
        };
        report.check(
            said.0,
            format!(
                "an unknown event kind is ignored without error ({})",
                said.1
            ),
        );
    }
    // A 4 MiB string, a million `[`: a stack overflow must not trap the adapter.
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
    kinds.extend(profile.sends.iter().map(String::as_str));
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

fn sig_prefix(profile: &Profile) -> &str {
    profile.signature.as_ref().map_or("", |s| s.prefix.as_str())
}

/// The outbound message of each kind the suite asks the adapter to encode.
pub(super) fn outbound(kind: &str) -> OutboundMessage {
    let mut message = OutboundMessage {
        id: "m-check-1".into(),
        conversation_id: "c-check".into(),
        // Digits only: a phone number for the platforms that address customers by one.
        customer_id: "16505551234".into(),
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
            message.tag = Some("HUMAN_AGENT".into());
        }
        "quick replies" => {
            message.quick_replies = [("Billing", "billing"), ("Other", "other")]
                .map(|(label, payload)| QuickReply {
                    label: label.into(),
                    payload: payload.into(),
                })
                .to_vec();
        }
        "attachment" => {
            message.text = None;
            message.attachments = vec![Attachment {
                kind: AttachmentKind::Image,
                url: Some("https://example.invalid/p.png".into()),
                media_id: Some("1234567890".into()),
                mime_type: Some("image/png".into()),
                filename: Some("p.png".into()),
                caption: None,
            }];
        }
        "template" => {
            message.text = None;
            message.template = Some(TemplateMessage {
                name: "order_update".into(),
                language: "en_US".into(),
                parameters: vec!["88-431".into()],
            });
        }
        "public-reply" => {
            message.kind = OutboundKind::PublicReply;
            message.in_reply_to = Some("1900000000000000001".into());
        }
        _ => {}
    }
    message
}
