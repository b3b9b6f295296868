//! Sending: the sender worker (`sender.rs`) takes pending outbound messages through the
//! adapter's `encode-send` and performs the requests; `actions.rs` performs the best-effort
//! ones (read markers, typing indicators); `encode_check.rs` asks the adapter whether the
//! channel can carry an agent's message before it is stored;
//! `pauses.rs` holds an integration's sends while the platform's rate limit lasts, and `pacing.rs`
//! keeps them within the platform's documented rates. What may go out is decided by
//! [`crate::rules::outbound`].

mod actions;
mod encode_check;
mod pacing;
mod pauses;
mod sender;

pub use actions::SenderActions;
pub use pacing::Pacing;
pub use pauses::Pauses;
pub use sender::Sender;
