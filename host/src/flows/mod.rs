//! Flows on the host side: the registry of published versions (parsed once, shared by every
//! conversation that runs them), publishing and rollback, the flow files of a folder, and the
//! bridge from the engine's plugin calls to the Wasm runtime. The engine itself (`crate::engine`)
//! stays pure.

mod check;
mod files;
mod plugin_calls;
mod registry;

pub use check::{
    EXIT_INVALID, EXIT_OK, EXIT_UNREADABLE, FileReport, Outcome, check_files, exit_code,
    render_json, render_text,
};
pub use files::{flow_files, flow_name, plugin_kinds_for, plugins_named_in, validate_flow_file};
pub use plugin_calls::call_with;
pub use registry::{FlowRegistry, join_errors};
