//! The host's data as every part of it sees it: conversations, messages, agents' presence,
//! inbox events, published versions, transfers. Plain types with no I/O: the store persists them, the
//! rules decide over them, the workers and the HTTP layer carry them.

mod catalog;
mod clock;
mod conversation;
mod inbox;
mod message;
mod presence;
mod transfer;

pub use catalog::{
    Canned, FilterRule, FlowVersion, FlowVersionInfo, PluginVersion, PluginVersionInfo,
    ScheduleOverride, Wrapup,
};
pub use clock::{new_id, now_ms};
pub use conversation::{Conversation, ConversationState};
pub use inbox::{InboxEvent, InsertOutcome};
pub use message::{Direction, Message, MessageStatus, NewMessage};
pub use presence::{AgentPresence, Presence};
pub use transfer::Transfer;
