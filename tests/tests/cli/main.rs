//! The `switchboard` command line, run as an admin runs it.
//!
//! - `flow`: `switchboard flow publish` against a running host, and the flows folder of
//!   `switchboard serve --watch` (a broken file reported, a change or a new file published);
//! - `plugin`: the plugins folder of `switchboard serve --watch` (a broken build refused, a good
//!   one hot-loaded).
//!
//! `switchboard plugin inspect` and `plugin publish` also run in the plugins tests, as steps of
//! the partner walkthrough and the hot swap.
//!
//! Run: `cargo xtask test -p switchboard-tests --test cli`.

mod flow;
mod plugin;
