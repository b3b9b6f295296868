//! The plugin catalog: which component each plugin name runs, every version published, and the
//! loaded flow plugins (bots and data actions). Adapters are bound to integrations by
//! `crate::integrations`; publishing and rollback, which touch both, are `crate::deploy`'s.

mod plugins;

pub use plugins::{PluginCatalog, PluginMeta, Source, kind_of, sha256_hex, world_of};
