//! Meta's webhook and Graph API rules, shared by every Meta channel: the WhatsApp Cloud API,
//! Messenger and Instagram (reference §2, §3.4, §4.2, §5).
//!
//! The three products verify a webhook URL with the same `hub.*` handshake, sign every event
//! POST the same way (`X-Hub-Signature-256`) and answer a failed send with the same Graph error
//! envelope. When each adapter carried its own copy, the copies drifted: a wrong `hub.mode` was
//! 401 in one adapter and 400 in the other, one echoed an empty challenge that the other refused,
//! and the verify token was compared two ways. A partner running WhatsApp and Messenger saw two
//! behaviours for one platform rule. This module is the one behaviour; both Meta adapters call it
//! and keep no copy, and the compliance suite checks that they answer alike.
//!
//! ## The webhook ([`verify_subscription`], [`verify_signature`])
//!
//! | request | answer |
//! |---|---|
//! | `GET` without `hub.mode=subscribe` (missing or another mode) | [`AdapterError::Malformed`] (400): not a verification request |
//! | `hub.verify_token` missing or not the integration's | [`AdapterError::Unauthorized`] (401), compared in constant time |
//! | `hub.challenge` missing or empty | [`AdapterError::Malformed`] (400) |
//! | all of them right | 200 `text/plain`, the challenge exactly as sent |
//! | `POST` without `X-Hub-Signature-256` (also with only the SHA-1 `X-Hub-Signature`) | [`AdapterError::Unauthorized`] |
//! | `X-Hub-Signature-256` not hex, or not the HMAC of the raw body | [`AdapterError::Unauthorized`] |
//!
//! The checks run in that order: the mode says whether the request is a verification at all
//! (a browser opening the URL is told it sent no verification, not that it is unauthorized);
//! the token comes before the challenge, so a caller without the token learns nothing else.
//! Echoing the challenge is safe for any challenge: it is the caller's own text, not a signature
//! (unlike X's CRC answer), so it cannot be used to forge a signed webhook.
//!
//! ## Failed sends ([`Product::decode_send_response`])
//!
//! Codes every Graph product uses are mapped here (token, app-level rate limits, temporary
//! errors), then the HTTP status decides; each adapter maps the codes only its product uses
//! (WhatsApp's 131047 window, Messenger's subcode 2018278, …) in its [`Product::codes`].

mod graph;
mod webhook;

pub use self::graph::{FailureKind, GraphError, Product};
pub use self::webhook::{
    LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, unsupported_method, verify_signature,
    verify_subscription,
};

#[cfg(doc)]
use crate::AdapterError;
