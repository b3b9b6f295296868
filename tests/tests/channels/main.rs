//! Channels end to end: customers on X, open messaging, WhatsApp, Messenger and Instagram reach
//! the flow and an agent through their adapters, and what the host sends reaches them.
//!
//! - `connections`: the listener's cap and header-read timeout against idle and slow sockets;
//! - `conversation`: the walking skeleton on X and open messaging, bot to agent, with transcripts;
//! - `webhooks`: what the host accepts at `/webhooks/{integration}`: the X CRC (which signs no
//!   forged webhook), signatures, unknown integrations, malformed bodies, echoes, redeliveries,
//!   and what `/metrics` counts of them;
//! - `x`: X mentions and likes, the daily cap of an entry integration, deauthorization, replying
//!   as another account, priority by followers;
//! - `meta`: WhatsApp, Messenger and Instagram: the 24-hour windows, templates, `HUMAN_AGENT`,
//!   statuses, read marks, typing;
//! - `outbound`: sending: exactly once and in order, backoff and attempts, retries and permanent
//!   failures;
//! - `structured`: Open Messaging quick replies out and button responses in.
//! - `rate_limits`: a platform's 429: the backoff floor under a past reset or `Retry-After: 0`,
//!   the cap on a long `Retry-After`, HTTP dates, and the pause of the whole integration.
//!
//! Each adapter's own wire format, signatures and answers are checked without a host by the
//! compliance suite (`tests/tests/compliance/`).
//!
//! Run: `cargo xtask test -p switchboard-tests --test channels` (one topic: add `outbound::`).

mod connections;
mod conversation;
mod meta;
mod outbound;
mod rate_limits;
mod structured;
mod webhooks;
mod x;
