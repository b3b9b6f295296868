//! The `switchboard` command line, run as an admin or a flow author runs it.
//!
//! - `flow`: `switchboard flow validate` (every error with its line and column), `flow graph`
//!   (Mermaid and DOT), `flow test` (a scripted conversation), `flow publish` against a running
//!   host, and the flows folder of `switchboard serve --watch` (a broken file reported, a change
//!   or a new file published);
//! - `flow_fuzz`: generated flow files (mutations of every example) through `flow validate`,
//!   counted by outcome (`SWITCHBOARD_FUZZ_COUNT`, `SWITCHBOARD_FUZZ_SEED`);
//! - `plugin`: `switchboard plugin inspect`, and the plugins folder of `switchboard serve
//!   --watch` (a broken build refused, a good one hot-loaded).
//!
//! `switchboard plugin inspect` of an adapter and `plugin publish` also run in the plugins tests,
//! as steps of the partner walkthrough and of the hot swap.
//!
//! - `backup`: `switchboard backup` while a host serves, and a host started on the copy;
//! - `lifecycle`: a customer's data erased through the admin API, and the audit log;
//! - `retention`: old messages deleted at start by `[retention]`.
//!
//! Run: `cargo xtask test -p switchboard-tests --test cli`.

mod backup;
mod flow;
mod flow_fuzz;
mod init;
mod lifecycle;
mod logs;
mod plugin;
mod retention;
mod secrets;
mod shutdown;
