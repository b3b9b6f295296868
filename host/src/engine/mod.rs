//! The flow engine: the flow model and its validation (`flow`), expressions (`expr`, CEL),
//! message templates (`template`) and the interpreter (`interp`).
//!
//! Nothing here touches the network, the store or wasmtime: the interpreter takes a flow, the
//! conversation's saved state and the customer's message, and returns what to do (send, transfer,
//! end) with the new state. The `conversations` module carries those effects out.

pub mod expr;
pub mod flow;
pub mod interp;
pub mod template;

pub use flow::{Flow, FlowError, Known, Step};
pub use interp::{Effect, FlowState, MAX_STEPS_PER_TURN, Outcome, Turn, TurnInput, run_turn};
