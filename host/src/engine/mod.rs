//! The flow engine: the flow model, its parsing and its validation (`flow/`), expressions
//! (`expr`, CEL), message templates (`template`), slot types (`slots`), schedules (`schedule`),
//! the interpreter (`interp/`) and the driver that performs plugin calls between turns
//! (`driver`).
//!
//! Nothing here touches the network, the store or wasmtime: plugin calls go through the
//! [`driver::Plugins`] trait, which the host implements with its Wasm runtime.

mod customer;
pub mod driver;
pub mod expr;
pub mod flow;
pub mod graph;
pub mod interp;
pub mod schedule;
pub mod slots;
pub mod template;

pub use customer::customer_value;
pub use driver::{Drive, Flows, Plugins, drive};
pub use flow::{Flow, FlowError, Known, PluginKind, SCHEMA_ID, Step, schema};
pub use interp::{
    ActionFailure, BotExit, BotTurn, Effect, Event, FlowState, MAX_STEPS_PER_TURN, Outcome,
    PluginCall, PluginResult, Turn, TurnInput, run_turn,
};
