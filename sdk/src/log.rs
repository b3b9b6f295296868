//! Logging into the host's log, where each line is tagged with the plugin and the integration.
//!
//! Adapters have no stdout worth reading: the host captures nothing from it. Natively (in a
//! plugin's unit tests) there is no host, so the same calls print to stderr instead.

pub use crate::wit::switchboard::channel::logging::Level;

/// Log `message` at `level`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::wit::switchboard::channel::logging::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{level:?}: {message}");
}

/// Detail useful only when chasing a problem.
pub fn trace(message: &str) {
    log(Level::Trace, message);
}

/// Detail useful when debugging an integration.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}

/// Normal operation worth recording.
pub fn info(message: &str) {
    log(Level::Info, message);
}

/// Something an admin should look at, although the call went on.
pub fn warn(message: &str) {
    log(Level::Warn, message);
}

/// A failure the adapter could not handle.
pub fn error(message: &str) {
    log(Level::Error, message);
}
