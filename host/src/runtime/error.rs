//! Errors at the plugin boundary: they always name the plugin and say which phase failed.

use std::fmt;

/// Why a plugin call did not return a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallErrorKind {
    /// The call ran past its deadline and was interrupted.
    Timeout,
    /// The plugin tried to grow its memory past its limit.
    MemoryLimit,
    /// The plugin trapped (a panic, `unreachable`, an out-of-bounds access...).
    Trap,
    /// The plugin returned more than the output limit.
    OutputLimit,
    /// The host could not set up the call (instantiation, pool exhausted...).
    Host,
}

impl CallErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallErrorKind::Timeout => "timeout",
            CallErrorKind::MemoryLimit => "memory_limit",
            CallErrorKind::Trap => "trap",
            CallErrorKind::OutputLimit => "output_limit",
            CallErrorKind::Host => "host",
        }
    }
}

/// A plugin failed to load or to answer a call.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PluginError {
    #[error("plugin `{plugin}` cannot be loaded: {message}")]
    Load { plugin: String, message: String },
    #[error("plugin `{plugin}` ({version}) failed in `{function}`: {kind_text}: {message}", kind_text = kind.as_str())]
    Call {
        plugin: String,
        version: String,
        function: &'static str,
        kind: CallErrorKind,
        message: String,
    },
}

impl PluginError {
    pub fn load(plugin: &str, message: impl Into<String>) -> PluginError {
        PluginError::Load {
            plugin: plugin.to_string(),
            message: message.into(),
        }
    }

    pub fn kind(&self) -> Option<CallErrorKind> {
        match self {
            PluginError::Load { .. } => None,
            PluginError::Call { kind, .. } => Some(*kind),
        }
    }

    /// Classifies a wasmtime error from a call.
    pub(crate) fn call(
        plugin: &str,
        version: &str,
        function: &'static str,
        err: wasmtime::Error,
        memory_exceeded: bool,
    ) -> PluginError {
        let kind = match err.downcast_ref::<wasmtime::Trap>() {
            Some(wasmtime::Trap::Interrupt) => CallErrorKind::Timeout,
            _ if memory_exceeded => CallErrorKind::MemoryLimit,
            Some(_) => CallErrorKind::Trap,
            None if format!("{err:#}").contains("memory") && memory_exceeded => {
                CallErrorKind::MemoryLimit
            }
            None => CallErrorKind::Trap,
        };
        PluginError::Call {
            plugin: plugin.to_string(),
            version: version.to_string(),
            function,
            kind,
            message: summary(kind, &err),
        }
    }
}

/// What went wrong, in a line: the trap's reason rather than the Wasm backtrace (which is
/// logged at debug level).
fn summary(kind: CallErrorKind, err: &wasmtime::Error) -> String {
    tracing::debug!("plugin call failed: {}", first_lines(&format!("{err:?}")));
    match kind {
        CallErrorKind::Timeout => "it ran past its call deadline and was interrupted".to_string(),
        CallErrorKind::MemoryLimit => "it tried to grow its memory past the limit".to_string(),
        _ => match err.downcast_ref::<wasmtime::Trap>() {
            Some(trap) => format!("it trapped: {trap}"),
            None => first_lines(&format!("{}", err.root_cause())),
        },
    }
}

/// Wasm backtraces can be long; keep the error readable in logs and responses.
fn first_lines(s: &str) -> String {
    let mut out: String = s.lines().take(6).collect::<Vec<_>>().join("\n");
    if out.len() > 1000 {
        out.truncate(1000);
        out.push('…');
    }
    out
}

/// A refusal decided by the adapter itself (it ran fine but did not accept the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdapterError {
    Unauthorized(String),
    Malformed(String),
    Misconfigured(String),
}

impl fmt::Display for AdapterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdapterError::Unauthorized(m) => write!(f, "unauthorized: {m}"),
            AdapterError::Malformed(m) => write!(f, "malformed: {m}"),
            AdapterError::Misconfigured(m) => write!(f, "misconfigured: {m}"),
        }
    }
}
