//! The plugins and console files built into this binary.
//!
//! A release (`cargo xtask dist`) is one self-contained binary: `build.rs` includes the files of
//! `SWITCHBOARD_EMBED_DIR` when the variable is set at build time, and both lists are empty
//! otherwise. The folders still come first: a plugin file `NAME.wasm` in `[plugins] dir`
//! overrides the built-in `NAME`, and a console in `[server] console_dir` replaces the built-in
//! one (see `catalog::PluginCatalog::component` and `server/console.rs`).

mod generated {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The built-in component of plugin `name` (`x`, `faq-bot`).
pub fn plugin(name: &str) -> Option<&'static [u8]> {
    generated::PLUGINS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// The names of the built-in plugins, sorted.
pub fn plugin_names() -> Vec<&'static str> {
    generated::PLUGINS.iter().map(|(name, _)| *name).collect()
}

/// The built-in console file at `path` (`index.html`, `assets/index-1234.js`).
pub fn console_file(path: &str) -> Option<&'static [u8]> {
    generated::CONSOLE
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

/// How many console files are built in (none when the binary was built without them).
pub fn console_files() -> usize {
    generated::CONSOLE.len()
}
