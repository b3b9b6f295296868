//! The adapter compliance suite: every channel adapter, as the Wasm component the host loads,
//! passes the same checks. A partner's adapter is added by writing one more [`Profile`].
//!
//! Per adapter: the handshake; signatures accepted and refused (bad, missing, wrong key,
//! tampered body); every fixture in its `fixtures/` folder decoded (echoes to nothing); every
//! outbound kind encoded; the platform's answers mapped to typed results; unknown event kinds
//! ignored without error; malformed, oversized and deeply nested bodies refused with
//! `malformed`, never a trap.
//!
//! `fuzz`: generated webhooks at volume through each adapter, counted by outcome;
//! `routes_fuzz`: generated bodies for every admin and agent route of a running host.

mod fuzz;
mod routes_fuzz;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard::config::PluginsConfig;
use switchboard::events::{
    Attachment, AttachmentKind, Author, OutboundKind, OutboundMessage, QuickReply, SendFailure,
    SendResult, TemplateMessage,
};
use switchboard::runtime::{
    AdapterError, AdapterPlugin, CallContext, PluginRuntime, WebhookRequest,
};
use switchboard_tests::signing;

/// How one adapter is configured, signs, shakes hands and answers; and which fixtures are what.
struct Profile {
    /// The plugin file under the plugins folder, without `.wasm`.
    plugin: &'static str,
    /// The fixtures folder under `plugins/`.
    fixtures: &'static str,
    settings: &'static [(&'static str, &'static str)],
    /// The header that signs `body` with `secret`.
    sign: fn(secret: &str, body: &[u8]) -> (String, String),
    /// The setting holding the signing secret.
    secret_setting: &'static str,
    /// The GET handshake, if the platform has one.
    handshake: Option<Handshake>,
    /// Fixtures that are webhook bodies for this profile, and whether each yields events.
    webhooks: &'static [(&'static str, Yields)],
    /// Fixtures that are not inbound webhooks for this profile (send bodies, answers, other
    /// platforms of the same adapter), listed so that every file is accounted for.
    other_files: &'static [&'static str],
    /// A well-formed body of an event kind the adapter does not know.
    unknown_kind: &'static str,
    /// Platform answers to a send and the result code each must map to.
    answers: &'static [(
        u16,
        &'static [(&'static str, &'static str)],
        &'static str,
        &'static str,
    )],
    /// Whether the platform takes templates and public replies.
    templates: bool,
    public_replies: bool,
}

/// A platform's GET handshake: the query (`{challenge}` is replaced by the challenge), a check of
/// the answer to `challenge`, and what the answer is made of.
struct Handshake {
    query: &'static str,
    challenge: &'static str,
    answer_ok: fn(&[u8]) -> bool,
    answer: Answer,
}

/// What a handshake answer is made of, which decides how it could be abused.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Answer {
    /// A signature of the challenge with the key that signs webhooks (X's CRC): answered for
    /// any challenge it would sign forged bodies, so only challenges of the platform's shape
    /// may be answered.
    Signature,
    /// The challenge itself, echoed once the verify token matches (Meta's `hub.challenge`):
    /// it signs nothing, so it cannot forge a webhook.
    Echo,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Yields {
    Events,
    Nothing,
}

fn hub_base64(secret: &str, body: &[u8]) -> (String, String) {
    (
        "x-hub-signature-256".into(),
        signing::hub_signature_base64(secret, body),
    )
}

fn hub_hex(secret: &str, body: &[u8]) -> (String, String) {
    (
        "x-hub-signature-256".into(),
        signing::hub_signature_hex(secret, body),
    )
}

fn x_sign(secret: &str, body: &[u8]) -> (String, String) {
    (
        "x-twitter-webhooks-signature".into(),
        signing::x_signature(secret, body),
    )
}

fn json_has(body: &[u8], key: &str, value: &str) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get(key).cloned())
        == Some(serde_json::Value::String(value.into()))
}

const GRAPH_ERROR_500: &str = r#"{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"fbtrace_id":"T"}}"#;
const GRAPH_ERROR_190: &str = r#"{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"T"}}"#;

/// The Open Messaging webhook fixtures, read by all three adapters.
const OPEN_MESSAGING_WEBHOOKS: &[(&str, Yields)] = &[
    ("inbound-message.json", Yields::Events),
    ("inbound-attachment.json", Yields::Events),
    ("receipt-delivered.json", Yields::Events),
    ("receipt-failed.json", Yields::Events),
    ("receipt-sent.json", Yields::Events),
    ("typing.json", Yields::Events),
    ("outbound-echo.json", Yields::Nothing),
    ("inbound-structured.json", Yields::Events),
];

/// The Open Messaging profile, shared by its Rust, JavaScript and Python adapters.
fn open_messaging(plugin: &'static str) -> Profile {
    Profile {
        plugin,
        fixtures: "open-messaging",
        settings: &[
            ("secret", "fixture-open-messaging-secret"),
            ("webhook_url", "http://127.0.0.1:9/partner"),
        ],
        sign: hub_base64,
        secret_setting: "secret",
        handshake: None,
        webhooks: OPEN_MESSAGING_WEBHOOKS,
        other_files: &[
            "outbound-text.json",
            "outbound-attachment.json",
            "outbound-structured.json",
        ],
        unknown_kind: r#"{"channel":{"messageId":"m-9","time":"2026-09-01T10:15:00.000Z","from":{"id":"cust-42","idType":"Opaque"}},"type":"FutureKind"}"#,
        answers: &[
            (200, &[], "{}", "sent"),
            (429, &[("retry-after", "30")], "", "rate_limited"),
            (403, &[], "", "auth"),
            (502, &[], "", "transient"),
            (400, &[], r#"{"message":"bad body"}"#, "permanent"),
        ],
        templates: false,
        public_replies: false,
    }
}

fn profiles() -> Vec<Profile> {
    vec![
        Profile {
            plugin: "x",
            fixtures: "x",
            settings: &[
                ("consumer_secret", "fixture-consumer-secret"),
                ("access_token", "fixture-access-token"),
                ("account_id", "1500000000000000001"),
                ("api_base", "http://127.0.0.1:9"),
            ],
            sign: x_sign,
            secret_setting: "consumer_secret",
            handshake: Some(Handshake {
                query: "crc_token={challenge}",
                challenge: "challenge-123",
                answer_ok: |body| {
                    json_has(
                        body,
                        "response_token",
                        &signing::x_crc_response_token("fixture-consumer-secret", "challenge-123"),
                    )
                },
                answer: Answer::Signature,
            }),
            webhooks: &[
                ("aaa-message.json", Yields::Events),
                ("aaa-quick-reply.json", Yields::Events),
                ("aaa-typing.json", Yields::Events),
                ("aaa-read.json", Yields::Events),
                ("aaa-mention.json", Yields::Events),
                ("aaa-mention-extended.json", Yields::Events),
                ("aaa-like.json", Yields::Events),
                ("xaa-dm-received.json", Yields::Events),
            ],
            other_files: &["post-reply-created.json", "post-reply-request.json"],
            unknown_kind: r#"{"for_user_id":"1500000000000000001","some_future_events":[{"id":"1"}]}"#,
            answers: &[
                (
                    201,
                    &[],
                    r#"{"data":{"dm_conversation_id":"1-2","dm_event_id":"1800000000000000999"}}"#,
                    "sent",
                ),
                (
                    429,
                    &[("x-rate-limit-reset", "1900000000")],
                    r#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
                    "rate_limited",
                ),
                (
                    401,
                    &[],
                    r#"{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}"#,
                    "auth",
                ),
                (
                    503,
                    &[],
                    r#"{"title":"Service Unavailable","status":503}"#,
                    "transient",
                ),
                (
                    400,
                    &[],
                    r#"{"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}"#,
                    "permanent",
                ),
            ],
            templates: false,
            public_replies: true,
        },
        open_messaging("open-messaging"),
        // The same channel in JavaScript and Python (plugins/open-messaging-js, -py), proving
        // the WIT contract outside Rust, on the same fixtures and expectations.
        open_messaging("open-messaging-js"),
        open_messaging("open-messaging-py"),
        Profile {
            plugin: "whatsapp",
            fixtures: "whatsapp",
            settings: &[
                ("app_secret", "fixture-app-secret"),
                ("verify_token", "fixture-verify-token"),
                ("access_token", "fixture-access-token"),
                ("phone_number_id", "500000000000002"),
                ("api_base", "http://127.0.0.1:9"),
            ],
            sign: hub_hex,
            secret_setting: "app_secret",
            handshake: Some(Handshake {
                query: "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge={challenge}",
                challenge: "1158201444",
                answer_ok: |body| body == b"1158201444",
                answer: Answer::Echo,
            }),
            webhooks: &[
                ("text.json", Yields::Events),
                ("image.json", Yields::Events),
                ("document.json", Yields::Events),
                ("audio.json", Yields::Events),
                ("voice.json", Yields::Events),
                ("video.json", Yields::Events),
                ("sticker.json", Yields::Events),
                ("location.json", Yields::Events),
                ("interactive-button-reply.json", Yields::Events),
                ("interactive-list-reply.json", Yields::Events),
                ("template-button.json", Yields::Events),
                ("reaction.json", Yields::Events),
                ("system.json", Yields::Events),
                ("unsupported.json", Yields::Events),
                ("status-sent.json", Yields::Events),
                ("status-delivered.json", Yields::Events),
                ("status-read.json", Yields::Events),
                ("status-failed.json", Yields::Events),
            ],
            other_files: &[],
            unknown_kind: r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{"phone_number":"15550000000","event":"FUTURE"}}]}]}"#,
            answers: &[
                (
                    200,
                    &[],
                    r#"{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}"#,
                    "sent",
                ),
                (
                    400,
                    &[],
                    r#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"T"}}"#,
                    "window_closed",
                ),
                (
                    429,
                    &[],
                    r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"fbtrace_id":"T"}}"#,
                    "rate_limited",
                ),
                (401, &[], GRAPH_ERROR_190, "auth"),
                (500, &[], GRAPH_ERROR_500, "transient"),
            ],
            templates: true,
            public_replies: false,
        },
        Profile {
            plugin: "facebook",
            fixtures: "facebook",
            settings: &[
                ("platform", "messenger"),
                ("app_secret", "fixture-app-secret"),
                ("verify_token", "fixture-verify-token"),
                ("page_access_token", "fixture-page-token"),
                ("page_id", "600000000000003"),
                ("api_base", "http://127.0.0.1:9"),
            ],
            sign: hub_hex,
            secret_setting: "app_secret",
            handshake: Some(Handshake {
                query: "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge={challenge}",
                challenge: "777",
                answer_ok: |body| body == b"777",
                answer: Answer::Echo,
            }),
            webhooks: &[
                ("messenger-message-text.json", Yields::Events),
                ("messenger-message-attachments.json", Yields::Events),
                ("messenger-postback.json", Yields::Events),
                ("messenger-reaction.json", Yields::Events),
                ("messenger-delivery.json", Yields::Events),
                ("messenger-read.json", Yields::Events),
                ("messenger-echo.json", Yields::Nothing),
            ],
            other_files: &[
                "instagram-echo.json",
                "instagram-events.json",
                "instagram-message-media.json",
                "instagram-message-text.json",
            ],
            unknown_kind: r#"{"object":"page","entry":[{"id":"600000000000003","time":1,"messaging":[{"sender":{"id":"7000000000000004"},"recipient":{"id":"600000000000003"},"timestamp":1,"future_event":{"x":1}}]}]}"#,
            answers: &[
                (
                    200,
                    &[],
                    r#"{"recipient_id":"7000000000000004","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}"#,
                    "sent",
                ),
                (
                    400,
                    &[],
                    r#"{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10,"error_subcode":2018278,"fbtrace_id":"T"}}"#,
                    "window_closed",
                ),
                (
                    400,
                    &[],
                    r#"{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"T"}}"#,
                    "rate_limited",
                ),
                (401, &[], GRAPH_ERROR_190, "auth"),
                (500, &[], GRAPH_ERROR_500, "transient"),
            ],
            templates: false,
            public_replies: false,
        },
        Profile {
            plugin: "facebook",
            fixtures: "facebook",
            settings: &[
                ("platform", "instagram"),
                ("app_secret", "fixture-app-secret"),
                ("verify_token", "fixture-verify-token"),
                ("page_access_token", "fixture-page-token"),
                ("page_id", "17841400000000005"),
                ("api_base", "http://127.0.0.1:9"),
            ],
            sign: hub_hex,
            secret_setting: "app_secret",
            handshake: Some(Handshake {
                query: "hub.mode=subscribe&hub.verify_token=fixture-verify-token&hub.challenge={challenge}",
                challenge: "778",
                answer_ok: |body| body == b"778",
                answer: Answer::Echo,
            }),
            webhooks: &[
                ("instagram-message-text.json", Yields::Events),
                ("instagram-message-media.json", Yields::Events),
                ("instagram-events.json", Yields::Events),
                ("instagram-echo.json", Yields::Nothing),
            ],
            other_files: &[
                "messenger-message-text.json",
                "messenger-message-attachments.json",
                "messenger-postback.json",
                "messenger-reaction.json",
                "messenger-delivery.json",
                "messenger-read.json",
                "messenger-echo.json",
            ],
            unknown_kind: r#"{"object":"instagram","entry":[{"id":"17841400000000005","time":1,"messaging":[{"sender":{"id":"8000000000000006"},"recipient":{"id":"17841400000000005"},"timestamp":1,"future_event":{"x":1}}]}]}"#,
            answers: &[
                (
                    200,
                    &[],
                    r#"{"recipient_id":"8000000000000006","message_id":"aWdfZAG1faWQ"}"#,
                    "sent",
                ),
                (401, &[], GRAPH_ERROR_190, "auth"),
                (500, &[], GRAPH_ERROR_500, "transient"),
            ],
            templates: false,
            public_replies: false,
        },
    ]
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn plugins_dir() -> PathBuf {
    std::env::var_os("SWITCHBOARD_PLUGINS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target/plugins"))
}

struct Loaded {
    adapter: AdapterPlugin,
    ctx: CallContext,
}

impl Loaded {
    async fn webhook(
        &self,
        method: &str,
        query: &str,
        headers: Vec<(String, String)>,
        body: &[u8],
    ) -> Result<switchboard::runtime::WebhookOutcome, AdapterError> {
        let request = WebhookRequest {
            method: method.into(),
            path: "/webhooks/compliance".into(),
            query: query.into(),
            headers: [
                vec![("content-type".to_string(), "application/json".to_string())],
                headers,
            ]
            .concat(),
            body: body.to_vec(),
        };
        self.adapter
            .handle_webhook(&self.ctx, request)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{} must not fail as a plugin (trap, timeout, memory): {e}",
                    self.adapter.name()
                )
            })
    }
}

async fn load(runtime: &PluginRuntime, profile: &Profile) -> Loaded {
    let path = plugins_dir().join(format!("{}.wasm", profile.plugin));
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask build-plugins` (or `cargo xtask test`){}",
        path.display(),
        toolchain_hint(profile.plugin)
    );
    let started = std::time::Instant::now();
    let adapter = runtime
        .load_adapter_file(&path)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "loaded {} ({:.1} MiB) in {:.2?} (compiled, or from target/plugin-cache-test)",
        profile.plugin,
        std::fs::metadata(&path).map_or(0.0, |m| m.len() as f64 / 1_048_576.0),
        started.elapsed()
    );
    let settings: BTreeMap<String, String> = profile
        .settings
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let ctx = CallContext {
        integration_id: format!("compliance-{}", profile.plugin),
        settings: Arc::new(settings),
    };
    Loaded { adapter, ctx }
}

/// What a plugin built from another language needs besides Rust; `build-plugins` skips it (with
/// a note) when the toolchain is missing.
fn toolchain_hint(plugin: &str) -> &'static str {
    if plugin.ends_with("-js") {
        "; it is built from JavaScript, which needs Node.js 18+ with npm (e.g. `apt-get install \
         nodejs npm`)"
    } else if plugin.ends_with("-py") {
        "; it is built from Python with componentize-py, which needs python3 with venv and pip \
         (e.g. `apt-get install python3-venv python3-pip`)"
    } else {
        ""
    }
}

fn secret(profile: &Profile) -> &'static str {
    setting(profile, profile.secret_setting).expect("secret setting")
}

fn setting(profile: &Profile, key: &str) -> Option<&'static str> {
    profile
        .settings
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| *v)
}

/// The plugin, and the platform setting where one adapter serves several (`facebook (instagram)`).
fn profile_name(profile: &Profile) -> String {
    match setting(profile, "platform") {
        Some(platform) => format!("{} ({platform})", profile.plugin),
        None => profile.plugin.to_string(),
    }
}

fn runtime() -> PluginRuntime {
    let dir = workspace().join("target/plugin-cache-test");
    PluginRuntime::new(&PluginsConfig {
        cache_dir: dir,
        ..PluginsConfig::default()
    })
    .expect("runtime")
}

fn outbound(kind: &str) -> OutboundMessage {
    let mut message = OutboundMessage {
        id: "m_compliance_1".into(),
        conversation_id: "c_compliance".into(),
        customer_id: "16505551234".into(),
        text: Some("Hello from the compliance suite".into()),
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
        "text" => {}
        "quick-replies" => {
            message.quick_replies = vec![
                QuickReply {
                    label: "Billing".into(),
                    payload: "billing".into(),
                },
                QuickReply {
                    label: "Other".into(),
                    payload: "other".into(),
                },
            ]
        }
        "agent" => {
            message.author = Author::Agent;
            message.author_name = Some("Alice".into());
            message.tag = Some("HUMAN_AGENT".into());
        }
        "attachment" => {
            message.text = None;
            message.attachments = vec![Attachment {
                kind: AttachmentKind::Image,
                url: Some("https://example.invalid/p.png".into()),
                media_id: Some("1234567890".into()),
                mime_type: Some("image/png".into()),
                filename: None,
                caption: None,
            }]
        }
        "template" => {
            message.text = None;
            message.template = Some(TemplateMessage {
                name: "order_update".into(),
                language: "en_US".into(),
                parameters: vec!["88-431".into()],
            })
        }
        "public-reply" => {
            message.kind = OutboundKind::PublicReply;
            message.in_reply_to = Some("1900000000000000001".into());
        }
        other => panic!("unknown outbound kind {other}"),
    }
    message
}

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

fn code(result: &SendResult) -> &'static str {
    match result {
        SendResult::Sent(_) => "sent",
        SendResult::Failed(f) => match f {
            SendFailure::RateLimited { .. } => "rate_limited",
            other => other.code(),
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_adapter_passes_the_compliance_suite() {
    let runtime = runtime();
    let mut failures = Vec::new();
    for profile in profiles() {
        let name = profile_name(&profile);
        let adapter = load(&runtime, &profile).await;
        let mut check = |ok: bool, what: String| {
            if !ok {
                failures.push(format!("{name}: {what}"));
            }
        };

        let dir = workspace()
            .join("plugins")
            .join(profile.fixtures)
            .join("fixtures");

        // The handshake.
        if let Some(handshake) = &profile.handshake {
            let query = |challenge: &str| {
                handshake
                    .query
                    .replace("{challenge}", &percent_encode(challenge.as_bytes()))
            };
            match adapter
                .webhook("GET", &query(handshake.challenge), vec![], b"")
                .await
            {
                Ok(outcome) => check(
                    outcome.status == 200 && (handshake.answer_ok)(&outcome.body),
                    format!(
                        "handshake answered {} {:?}",
                        outcome.status,
                        String::from_utf8_lossy(&outcome.body)
                    ),
                ),
                Err(e) => check(false, format!("handshake refused: {e}")),
            }
            let (first_webhook, _) = profile.webhooks[0];
            let body = std::fs::read(dir.join(first_webhook))
                .unwrap_or_else(|e| panic!("{first_webhook}: {e}"));
            let body = String::from_utf8(body).expect("fixtures are UTF-8");
            match handshake.answer {
                // Not a signing oracle: a webhook body (or anything but a short token) as the
                // challenge is refused, so its signature never leaves the host.
                Answer::Signature => {
                    for (what, challenge) in [
                        (format!("the body of {first_webhook}"), body.clone()),
                        ("a 4 KiB token".to_string(), "a".repeat(4096)),
                    ] {
                        let result = adapter
                            .webhook("GET", &query(&challenge), vec![], b"")
                            .await;
                        check(
                            matches!(result, Err(AdapterError::Malformed(_))),
                            format!(
                                "a handshake with {what} as the challenge gave {:?}; a signing \
                                 handshake must refuse it as malformed",
                                result.map(|o| (
                                    o.status,
                                    String::from_utf8_lossy(&o.body).into_owned()
                                ))
                            ),
                        );
                    }
                }
                // An echo answers the challenge itself, never a signature of it, and only to
                // whoever knows the verify token.
                Answer::Echo => {
                    let result = adapter.webhook("GET", &query(&body), vec![], b"").await;
                    let signature = (profile.sign)(secret(&profile), body.as_bytes()).1;
                    match result {
                        Ok(outcome) => check(
                            outcome.body == body.as_bytes()
                                && !String::from_utf8_lossy(&outcome.body).contains(&signature),
                            format!(
                                "an echo handshake answered {:?}, not the challenge itself",
                                String::from_utf8_lossy(&outcome.body)
                            ),
                        ),
                        Err(e) => check(
                            false,
                            format!("an echo handshake refused a body-shaped challenge: {e}"),
                        ),
                    }
                    let wrong_token = query(handshake.challenge)
                        .replace("fixture-verify-token", "not-the-verify-token");
                    check(
                        matches!(
                            adapter.webhook("GET", &wrong_token, vec![], b"").await,
                            Err(AdapterError::Unauthorized(_))
                        ),
                        "a handshake with a wrong verify token was not refused as unauthorized"
                            .into(),
                    );
                }
            }
        }

        // Every fixture is accounted for and decodes; signatures are checked on each.
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            // The profile `switchboard plugin check` reads.
            .filter(|f| f != "check.toml")
            .collect();
        files.sort();
        for file in &files {
            let known = profile.webhooks.iter().any(|(f, _)| f == file)
                || profile.other_files.contains(&file.as_str());
            check(
                known,
                format!("fixture {file} is not classified in the compliance profile"),
            );
        }
        for (file, yields) in profile.webhooks {
            let body = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let signed = vec![(profile.sign)(secret(&profile), &body)];
            match adapter.webhook("POST", "", signed.clone(), &body).await {
                Ok(outcome) => {
                    check(
                        (200..300).contains(&outcome.status),
                        format!("{file}: answered {}", outcome.status),
                    );
                    match yields {
                        Yields::Events => check(
                            !outcome.events.is_empty(),
                            format!("{file}: decoded to no events"),
                        ),
                        Yields::Nothing => check(
                            outcome.events.is_empty(),
                            format!("{file}: an echo produced {:?}", outcome.events),
                        ),
                    }
                }
                Err(e) => check(false, format!("{file}: refused: {e}")),
            }
            // Missing, wrong-key, bad and tampered signatures are refused.
            let refusals: Vec<(&str, Vec<(String, String)>, Vec<u8>)> = vec![
                ("missing", vec![], body.clone()),
                (
                    "wrong key",
                    vec![(profile.sign)("not-the-secret", &body)],
                    body.clone(),
                ),
                (
                    "bad",
                    vec![(signed[0].0.clone(), "sha256=AAAA".into())],
                    body.clone(),
                ),
                (
                    "tampered body",
                    signed.clone(),
                    [body.as_slice(), b" "].concat(),
                ),
            ];
            for (what, headers, body) in refusals {
                let refused = matches!(
                    adapter.webhook("POST", "", headers, &body).await,
                    Err(AdapterError::Unauthorized(_))
                );
                check(
                    refused,
                    format!("{file}: a {what} signature was not refused as unauthorized"),
                );
            }
        }

        // Unknown event kinds are ignored without error.
        let body = profile.unknown_kind.as_bytes();
        match adapter
            .webhook(
                "POST",
                "",
                vec![(profile.sign)(secret(&profile), body)],
                body,
            )
            .await
        {
            Ok(outcome) => check(
                (200..300).contains(&outcome.status) && outcome.events.is_empty(),
                format!(
                    "an unknown event kind gave {} with {:?}",
                    outcome.status, outcome.events
                ),
            ),
            Err(e) => check(false, format!("an unknown event kind was refused: {e}")),
        }

        // Malformed and oversized bodies are refused as malformed, never a trap.
        let oversized = [
            b"{\"data\":\"".as_slice(),
            &vec![b'a'; 4 * 1024 * 1024],
            b"\"".as_slice(),
        ]
        .concat();
        for (what, body) in [
            ("not JSON", b"this is not json".to_vec()),
            ("truncated", b"{\"entry\":[".to_vec()),
            ("oversized", oversized),
            // Nested past any parser's depth: a stack overflow must not trap the adapter.
            ("deeply nested", b"[".repeat(1 << 20)),
        ] {
            let result = adapter
                .webhook(
                    "POST",
                    "",
                    vec![(profile.sign)(secret(&profile), &body)],
                    &body,
                )
                .await;
            check(
                matches!(result, Err(AdapterError::Malformed(_))),
                format!("a {what} body gave {:?}", result.map(|o| o.status)),
            );
        }

        // Every outbound kind encodes to a request at the configured API.
        let base = profile
            .settings
            .iter()
            .find(|(k, _)| *k == "api_base" || *k == "webhook_url")
            .map(|(_, v)| *v)
            .unwrap();
        // Only what the adapter says its platform carries: the host turns quick replies into
        // numbered options and attachments into links for a platform without them.
        let can = adapter.adapter.info().capabilities;
        let mut kinds = vec!["text", "agent"];
        if can.quick_replies {
            kinds.push("quick-replies");
        }
        if can.attachments {
            kinds.push("attachment");
        }
        if profile.templates {
            kinds.push("template");
        }
        if profile.public_replies {
            kinds.push("public-reply");
        }
        for kind in kinds {
            match adapter
                .adapter
                .encode_send(&adapter.ctx, &outbound(kind))
                .await
                .expect("encode-send runs")
            {
                Ok(request) => check(
                    request.url.starts_with(base)
                        && request.method == "POST"
                        && !request.body.is_empty(),
                    format!("{kind}: encoded as {} {}", request.method, request.url),
                ),
                Err(e) => check(false, format!("{kind}: not encoded: {e}")),
            }
        }

        // The platform's answers map to typed results.
        for (status, headers, body, expected) in profile.answers {
            let headers = headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let result = adapter
                .adapter
                .decode_send_response(
                    &adapter.ctx,
                    "m_compliance_1",
                    *status,
                    headers,
                    body.as_bytes().to_vec(),
                )
                .await
                .expect("decode-send-response runs");
            check(
                code(&result) == *expected,
                format!("HTTP {status} {body} mapped to {result:?}, expected {expected}"),
            );
        }
    }
    assert!(
        failures.is_empty(),
        "compliance failures:\n  {}",
        failures.join("\n  ")
    );
}

/// Request headers as the host passes them to an adapter.
type Headers = Vec<(String, String)>;

/// Meta's verification GETs, as `(case, query)`; `{token}` is the integration's verify token.
const META_HANDSHAKES: [(&str, &str); 7] = [
    (
        "good",
        "hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "wrong mode",
        "hub.mode=unsubscribe&hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "missing mode",
        "hub.verify_token={token}&hub.challenge=1158201444",
    ),
    (
        "wrong token",
        "hub.mode=subscribe&hub.verify_token=not-the-verify-token&hub.challenge=1158201444",
    ),
    (
        "missing token",
        "hub.mode=subscribe&hub.challenge=1158201444",
    ),
    (
        "empty challenge",
        "hub.mode=subscribe&hub.verify_token={token}&hub.challenge=",
    ),
    (
        "missing challenge",
        "hub.mode=subscribe&hub.verify_token={token}",
    ),
];

/// What every Meta adapter answers to each case: the one behaviour of `switchboard_sdk::meta`.
const META_EXPECTED: [(&str, &str); 13] = [
    ("GET good", "200 text/plain 1158201444"),
    ("GET wrong mode", "400 malformed"),
    ("GET missing mode", "400 malformed"),
    ("GET wrong token", "401 unauthorized"),
    ("GET missing token", "401 unauthorized"),
    ("GET empty challenge", "400 malformed"),
    ("GET missing challenge", "400 malformed"),
    ("POST good", "200"),
    ("POST missing header", "401 unauthorized"),
    ("POST wrong key", "401 unauthorized"),
    ("POST sha256= with bad hex", "401 unauthorized"),
    ("POST SHA-1 X-Hub-Signature only", "401 unauthorized"),
    ("POST tampered body", "401 unauthorized"),
];

/// What the host answers for an adapter's result (`server.rs`): the status, then the error kind,
/// or the content type and body of an answer that has them.
fn answer(result: &Result<switchboard::runtime::WebhookOutcome, AdapterError>) -> String {
    match result {
        Ok(outcome) => {
            let content_type = outcome
                .headers
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
                .map(|(_, value)| value.as_str());
            [
                Some(outcome.status.to_string()),
                content_type.map(str::to_owned),
                (!outcome.body.is_empty())
                    .then(|| String::from_utf8_lossy(&outcome.body).into_owned()),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        }
        Err(AdapterError::Unauthorized(_)) => "401 unauthorized".into(),
        Err(AdapterError::Malformed(_)) => "400 malformed".into(),
        Err(AdapterError::Misconfigured(_)) => "500 misconfigured".into(),
    }
}

/// WhatsApp, Messenger and Instagram follow the same Meta rules for the subscription handshake
/// and `X-Hub-Signature-256`, so a partner must get the same answer from each for the same
/// request: the same status and the same error kind, case by case.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meta_adapters_answer_handshakes_and_signatures_alike() {
    let runtime = runtime();
    let meta: Vec<Profile> = profiles()
        .into_iter()
        .filter(|p| {
            p.handshake
                .as_ref()
                .is_some_and(|h| h.answer == Answer::Echo)
        })
        .collect();
    let names: Vec<String> = meta.iter().map(profile_name).collect();
    assert_eq!(
        names,
        ["whatsapp", "facebook (messenger)", "facebook (instagram)"],
        "the Meta adapters this case compares"
    );

    // answers[case] = what each adapter answered, in the order of `names`.
    let mut answers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for profile in &meta {
        let adapter = load(&runtime, profile).await;
        let token = setting(profile, "verify_token").expect("a Meta profile has a verify token");
        for (case, query) in META_HANDSHAKES {
            let query = query.replace("{token}", token);
            let result = adapter.webhook("GET", &query, vec![], b"").await;
            answers
                .entry(format!("GET {case}"))
                .or_default()
                .push(answer(&result));
        }

        let (fixture, _) = profile.webhooks[0];
        let dir = workspace()
            .join("plugins")
            .join(profile.fixtures)
            .join("fixtures");
        let body = std::fs::read(dir.join(fixture)).unwrap_or_else(|e| panic!("{fixture}: {e}"));
        let secret = secret(profile);
        let signed = (profile.sign)(secret, &body);
        let header = |name: &str, value: String| vec![(name.to_string(), value)];
        let posts: [(&str, Headers, Vec<u8>); 6] = [
            ("good", vec![signed.clone()], body.clone()),
            ("missing header", vec![], body.clone()),
            (
                "wrong key",
                vec![(profile.sign)("not-the-app-secret", &body)],
                body.clone(),
            ),
            (
                "sha256= with bad hex",
                header(&signed.0, format!("sha256={}", "zz".repeat(32))),
                body.clone(),
            ),
            (
                "SHA-1 X-Hub-Signature only",
                header(
                    "x-hub-signature",
                    signing::hub_signature_sha1(secret, &body),
                ),
                body.clone(),
            ),
            (
                "tampered body",
                vec![signed.clone()],
                [body.as_slice(), b" "].concat(),
            ),
        ];
        for (case, headers, body) in posts {
            let result = adapter.webhook("POST", "", headers, &body).await;
            answers
                .entry(format!("POST {case}"))
                .or_default()
                .push(answer(&result));
        }
    }

    let mut failures = Vec::new();
    for (case, expected) in META_EXPECTED {
        let got = &answers[case];
        let table = names
            .iter()
            .zip(got)
            .map(|(name, answer)| format!("{name}: {answer}"))
            .collect::<Vec<_>>()
            .join(", ");
        if got.iter().any(|answer| answer != &got[0]) {
            failures.push(format!("{case}: the Meta adapters differ ({table})"));
        } else if got[0] != expected {
            failures.push(format!(
                "{case}: expected {expected}, all answered {}",
                got[0]
            ));
        }
    }
    assert_eq!(
        answers.len(),
        META_EXPECTED.len(),
        "every case has an expected answer"
    );
    assert!(
        failures.is_empty(),
        "Meta handshake and signature answers:\n  {}",
        failures.join("\n  ")
    );
}

/// A new adapter cannot pass silently: every adapter component `cargo xtask build-plugins` built
/// (a top-level `target/plugins/NAME.wasm` exporting the adapter world) has a profile here.
#[test]
fn every_built_adapter_has_a_compliance_profile() {
    let profiled: Vec<&str> = profiles().iter().map(|p| p.plugin).collect();
    let mut adapters = Vec::new();
    for entry in std::fs::read_dir(plugins_dir()).expect("run `cargo xtask build-plugins` first") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "wasm") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let outline = switchboard::runtime::outline(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if outline
            .world
            .as_deref()
            .is_some_and(|w| w.contains("/adapter@"))
        {
            adapters.push(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(adapters.len() >= 4, "{adapters:?}");
    let missing: Vec<&String> = adapters
        .iter()
        .filter(|a| !profiled.contains(&a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "adapters without a compliance profile (add one to profiles()): {missing:?}"
    );
}
