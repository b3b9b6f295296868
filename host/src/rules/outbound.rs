//! The outbound policy: whether a message may go out to a customer now, and how. One place for
//! the platforms' rules, used both when an agent sends (refused at once, with the reason) and
//! when the sender sends (the message is recorded failed with the reason):
//!
//! - the platform's capabilities (templates only where the platform has them);
//! - its text limit, in its unit (characters or bytes);
//! - its reply window: WhatsApp allows free text only within 24 h of the customer's last
//!   message, templates after; Messenger and Instagram allow an agent's reply up to 7 days with
//!   the `HUMAN_AGENT` tag;
//! - the daily cap of X integrations by size (entry 200, small 1,000, medium 3,000, large 9,000).

use crate::config::IntegrationSize;
use crate::events::{AdapterInfo, Attachment, Author, QuickReply};

const HOUR_MS: i64 = 3_600_000;

/// Why a message may not go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The platform has no such thing (a template where there are none).
    Unsupported(String),
    /// The text is longer than the platform takes.
    TextTooLong(String),
    /// The reply window is closed for this message.
    WindowClosed(String),
    /// The integration has sent its messages for today.
    DailyCapReached(String),
}

impl Refusal {
    /// The reason, for the agent or the transcript.
    pub fn message(&self) -> &str {
        match self {
            Refusal::Unsupported(m)
            | Refusal::TextTooLong(m)
            | Refusal::WindowClosed(m)
            | Refusal::DailyCapReached(m) => m,
        }
    }
}

/// What is known about a message about to go out.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub author: Author,
    /// The text as it will be sent (quick replies already rendered in where the platform has no
    /// buttons, see [`text_with_options`]).
    pub text: Option<&'a str>,
    pub template: bool,
    /// When the customer last wrote, by the platform's clock.
    pub last_customer_written_at: i64,
}

/// Checks `message` against the platform's rules (`info`) at `now`. `Ok(Some(tag))` when it may
/// go out only with that tag (`HUMAN_AGENT`), `Ok(None)` when it may go out as it is.
pub fn check(
    info: &AdapterInfo,
    message: Outgoing<'_>,
    now: i64,
) -> Result<Option<String>, Refusal> {
    if message.template && !info.capabilities.templates {
        return Err(Refusal::Unsupported(format!(
            "{} has no templates",
            info.platform
        )));
    }
    if let Some(text) = message.text {
        let len = info.text_len(text);
        if len > info.text_limit as usize {
            return Err(Refusal::TextTooLong(format!(
                "the text is {len} long; {} allows at most {}",
                info.platform, info.text_limit
            )));
        }
    }
    window_tag(
        info,
        message.last_customer_written_at,
        message.author,
        message.template,
        now,
    )
    .map_err(Refusal::WindowClosed)
}

/// Checks the platform's reply window for a message to a customer who last wrote at
/// `last_customer_at`. `Ok(Some(tag))` when the message may go out only with that tag
/// (`HUMAN_AGENT`), `Err` with the reason when it may not go out at all.
pub fn window_tag(
    info: &AdapterInfo,
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

/// Whether one more message fits today's cap of an integration of `size` that has sent
/// `sent_today` messages (UTC day).
pub fn daily_cap(integration: &str, size: IntegrationSize, sent_today: i64) -> Result<(), Refusal> {
    if sent_today >= size.daily_cap() as i64 {
        Err(Refusal::DailyCapReached(cap_message(integration, size)))
    } else {
        Ok(())
    }
}

/// Why an integration of `size` sends no more today.
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

/// Renders quick replies into the text for a platform that cannot show them as buttons; the
/// flow accepts the number or the label as the answer.
pub fn text_with_options(text: Option<&str>, options: &[QuickReply]) -> String {
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

/// What of a message an adapter is handed, fitted to what its platform can show: quick replies
/// become numbered options in the text without buttons, and attachments become links in the
/// text without attachments (a text-only platform is never handed one).
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    pub text: Option<String>,
    pub quick_replies: Vec<QuickReply>,
    pub attachments: Vec<Attachment>,
}

/// Fits a message's text, quick replies and attachments to the platform (see [`Fitted`]).
pub fn fit(
    info: &AdapterInfo,
    text: Option<&str>,
    quick_replies: &[QuickReply],
    attachments: &[Attachment],
) -> Fitted {
    let mut fitted = Fitted {
        text: text.map(str::to_string),
        quick_replies: quick_replies.to_vec(),
        attachments: attachments.to_vec(),
    };
    if !attachments.is_empty() && !info.capabilities.attachments {
        fitted.text = Some(text_with_links(fitted.text.as_deref(), attachments));
        fitted.attachments.clear();
    }
    if !quick_replies.is_empty() && !info.capabilities.quick_replies {
        fitted.text = Some(text_with_options(fitted.text.as_deref(), quick_replies));
        fitted.quick_replies.clear();
    }
    fitted
}

/// Renders attachments into the text as links, one a line (`caption: url`), for a platform that
/// cannot carry them; one known only by a platform's media id is named, not linked.
pub fn text_with_links(text: Option<&str>, attachments: &[Attachment]) -> String {
    let mut lines: Vec<String> = text
        .filter(|t| !t.is_empty())
        .map(|t| vec![t.to_string(), String::new()])
        .unwrap_or_default();
    for a in attachments {
        let name = a.caption.as_deref().or(a.filename.as_deref());
        lines.push(match (&a.url, name) {
            (Some(url), Some(name)) => format!("{name}: {url}"),
            (Some(url), None) => url.clone(),
            (None, Some(name)) => format!("[{name}]"),
            (None, None) => "[an attachment]".to_string(),
        });
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{AttachmentKind, Capabilities, TextUnit};

    #[test]
    fn a_text_only_platform_gets_links_and_numbered_options() {
        let image = Attachment {
            kind: AttachmentKind::Image,
            url: Some("https://cdn.example/receipt.png".into()),
            media_id: None,
            mime_type: Some("image/png".into()),
            filename: None,
            caption: Some("Your receipt".into()),
        };
        let file = Attachment {
            kind: AttachmentKind::File,
            url: Some("https://cdn.example/terms.pdf".into()),
            filename: Some("terms.pdf".into()),
            caption: None,
            mime_type: None,
            media_id: None,
        };
        let options = [QuickReply {
            label: "Yes".into(),
            payload: "YES".into(),
        }];
        let text_only = info(None, None, false);
        let fitted = fit(
            &text_only,
            Some("Here you go"),
            &options,
            &[image.clone(), file],
        );
        assert!(fitted.attachments.is_empty() && fitted.quick_replies.is_empty());
        assert_eq!(
            fitted.text.as_deref(),
            Some(
                "Here you go\n\nYour receipt: https://cdn.example/receipt.png\nterms.pdf: https://cdn.example/terms.pdf\n\n1. Yes"
            )
        );
        // A platform that carries both is handed them as they are.
        let mut rich = info(None, None, false);
        rich.capabilities.attachments = true;
        rich.capabilities.quick_replies = true;
        let fitted = fit(
            &rich,
            Some("Here you go"),
            &options,
            std::slice::from_ref(&image),
        );
        assert_eq!(fitted.text.as_deref(), Some("Here you go"));
        assert_eq!(fitted.attachments, [image]);
        assert_eq!(fitted.quick_replies, options);
        // Without text, only the links.
        let bare = Attachment {
            caption: None,
            ..fitted.attachments[0].clone()
        };
        assert_eq!(
            fit(&text_only, None, &[], &[bare]).text.as_deref(),
            Some("https://cdn.example/receipt.png")
        );
    }

    fn info(window: Option<u32>, agent_window: Option<u32>, templates: bool) -> AdapterInfo {
        AdapterInfo {
            platform: "p".into(),
            text_limit: 10,
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

    fn outgoing(author: Author, text: Option<&str>, template: bool, written: i64) -> Outgoing<'_> {
        Outgoing {
            author,
            text,
            template,
            last_customer_written_at: written,
        }
    }

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

    #[test]
    fn templates_text_limits_and_windows_in_one_check() {
        let now = 1000 * H;
        let plain = info(None, None, false);
        assert_eq!(
            check(
                &plain,
                outgoing(Author::Bot, Some("0123456789"), false, 0),
                now
            ),
            Ok(None)
        );
        assert_eq!(
            check(
                &plain,
                outgoing(Author::Agent, Some("0123456789a"), false, now),
                now
            ),
            Err(Refusal::TextTooLong(
                "the text is 11 long; p allows at most 10".into()
            ))
        );
        assert_eq!(
            check(&plain, outgoing(Author::Agent, None, true, now), now),
            Err(Refusal::Unsupported("p has no templates".into()))
        );
        let mut bytes = info(None, None, false);
        bytes.text_unit = TextUnit::Bytes;
        assert!(matches!(
            check(
                &bytes,
                outgoing(Author::Bot, Some("ééééééé"), false, now),
                now
            ),
            Err(Refusal::TextTooLong(_))
        ));
        let fb = info(Some(24), Some(168), false);
        assert_eq!(
            check(
                &fb,
                outgoing(Author::Agent, Some("hi"), false, now - 30 * H),
                now
            ),
            Ok(Some("HUMAN_AGENT".into()))
        );
        assert!(matches!(
            check(
                &fb,
                outgoing(Author::Bot, Some("hi"), false, now - 30 * H),
                now
            ),
            Err(Refusal::WindowClosed(_))
        ));
    }

    #[test]
    fn daily_caps_by_size() {
        assert_eq!(daily_cap("x-demo", IntegrationSize::Entry, 199), Ok(()));
        let refused = daily_cap("x-demo", IntegrationSize::Entry, 200).unwrap_err();
        assert!(
            matches!(&refused, Refusal::DailyCapReached(m) if m.contains("200 messages")),
            "{refused:?}"
        );
        assert_eq!(daily_cap("x", IntegrationSize::Small, 999), Ok(()));
        assert!(daily_cap("x", IntegrationSize::Small, 1000).is_err());
        assert!(daily_cap("x", IntegrationSize::Medium, 3000).is_err());
        assert_eq!(daily_cap("x", IntegrationSize::Large, 8999), Ok(()));
        assert!(daily_cap("x", IntegrationSize::Large, 9000).is_err());
    }

    #[test]
    fn options_become_a_numbered_list() {
        let options = [
            QuickReply {
                label: "Billing".into(),
                payload: "billing".into(),
            },
            QuickReply {
                label: "Other".into(),
                payload: "other".into(),
            },
        ];
        assert_eq!(
            text_with_options(Some("What?"), &options),
            "What?\n\n1. Billing\n2. Other"
        );
        assert_eq!(text_with_options(None, &options), "1. Billing\n2. Other");
    }
}
