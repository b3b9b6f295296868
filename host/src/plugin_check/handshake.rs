//! The adapter suite's handshake checks: the platform's GET subscription check is answered, and
//! cannot be abused (a signing handshake is no signing oracle; an echo needs the verify token).

use std::path::Path;

use anyhow::Context;

use super::adapter_profile::{HandshakeAnswer, Profile};
use super::report::Report;
use crate::runtime::{AdapterError, AdapterPlugin, CallContext, WebhookRequest};

/// Percent-encodes everything but unreserved characters, as a platform builds a query.
fn percent_encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn json_field(body: &[u8], field: &str) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()?
        .get(field)?
        .as_str()
        .map(str::to_owned)
}

pub(super) async fn run(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    profile: &Profile,
    fixtures: &Path,
    report: &mut Report,
) -> anyhow::Result<()> {
    let Some(handshake) = &profile.handshake else {
        return Ok(());
    };
    let token = handshake
        .token
        .as_ref()
        .and_then(|t| profile.settings.get(t))
        .map_or("", String::as_str);
    let query = |challenge: &str, token: &str| {
        handshake
            .query
            .replace("{token}", token)
            .replace("{challenge}", &percent_encode(challenge.as_bytes()))
    };
    let get = |query: String| async move {
        webhook_request(adapter, ctx, "GET", &query, vec![], b"").await
    };
    let key = profile.key();
    let signature_of = |text: &str| {
        profile
            .sign(key, text.as_bytes())
            .first()
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let expected = |body: &[u8], challenge: &str| match handshake.answer {
        HandshakeAnswer::Echo => body == challenge.as_bytes(),
        HandshakeAnswer::Signature => {
            let field = handshake.field.as_deref().unwrap_or("response_token");
            json_field(body, field).is_some_and(|v| v == signature_of(challenge))
        }
    };
    let said = match get(query(&handshake.challenge, token)).await {
        Ok(Ok(o)) => (
            o.status == 200 && expected(&o.body, &handshake.challenge),
            format!("{} {:?}", o.status, String::from_utf8_lossy(&o.body)),
        ),
        Ok(Err(e)) => (false, format!("refused: {e}")),
        Err(e) => (false, format!("failed as a plugin: {e}")),
    };
    report.check(said.0, format!("the handshake is answered ({})", said.1));

    let Some(first) = profile.webhooks.keys().next() else {
        return Ok(());
    };
    let body = std::fs::read_to_string(fixtures.join(first))
        .with_context(|| format!("cannot read {first}"))?;
    match handshake.answer {
        // Not a signing oracle: a webhook body (or anything but a short token) as the
        // challenge is refused, so its signature never leaves the host.
        HandshakeAnswer::Signature => {
            for (what, challenge) in [
                (format!("the body of {first}"), body.clone()),
                ("a 4 KiB token".to_string(), "a".repeat(4096)),
            ] {
                let refused = matches!(
                    get(query(&challenge, token)).await,
                    Ok(Err(AdapterError::Malformed(_)))
                );
                report.check(
                    refused,
                    format!(
                        "a handshake with {what} as the challenge is refused as malformed \
                         (a signing handshake is no signing oracle)"
                    ),
                );
            }
        }
        // An echo answers the challenge itself, never a signature of it, and only to whoever
        // knows the verify token.
        HandshakeAnswer::Echo => {
            let echoed = match get(query(&body, token)).await {
                Ok(Ok(o)) => {
                    o.body == body.as_bytes()
                        && (key.is_empty()
                            || !String::from_utf8_lossy(&o.body).contains(&signature_of(&body)))
                }
                _ => false,
            };
            report.check(
                echoed,
                format!(
                    "a handshake with the body of {first} as the challenge echoes it, unsigned"
                ),
            );
            let refused = matches!(
                get(query(&handshake.challenge, "not-the-verify-token")).await,
                Ok(Err(AdapterError::Unauthorized(_)))
            );
            report.check(
                refused,
                "a handshake with a wrong verify token is refused as unauthorized",
            );
        }
    }
    Ok(())
}

/// A webhook request as a platform sends it; an `Err` is a failure of the plugin itself. The
/// in-tree compliance suite sends its own cases through it too.
pub async fn webhook_request(
    adapter: &AdapterPlugin,
    ctx: &CallContext,
    method: &str,
    query: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Result<Result<crate::runtime::WebhookOutcome, AdapterError>, String> {
    let request = WebhookRequest {
        method: method.into(),
        path: "/webhooks/check".into(),
        query: query.into(),
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
