//! The on-disk cache of compiled components.
//!
//! A compiled `.cwasm` is only valid for the engine settings it was made with, so the file name
//! holds both the component's SHA-256 and the engine's compatibility hash. Deserializing is
//! `unsafe` in wasmtime because a crafted file could do anything: only files this module wrote
//! (atomically, via rename) are ever read.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;

use anyhow::Context;
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Returns the component and the hex SHA-256 of its bytes.
pub fn load_or_compile(
    engine: &Engine,
    cache_dir: &Path,
    bytes: &[u8],
) -> anyhow::Result<(Component, String)> {
    let hash = hex::encode(Sha256::digest(bytes));
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let path = cache_dir.join(format!("{hash}-{:016x}.cwasm", hasher.finish()));

    if path.exists() {
        // SAFETY: the file was written by `serialize` below for an engine with these settings
        // (the name says so), and nothing else writes into the cache folder.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, hash)),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "ignoring an unusable cached component")
            }
        }
    }

    if is_core_module(bytes) {
        anyhow::bail!(
            "this is a core Wasm module, not a component; build plugins for wasm32-wasip2 (or run `wasm-tools component new`)"
        );
    }
    let component = Component::new(engine, bytes)
        .map_err(anyhow::Error::from)
        .context("not a valid Wasm component")?;
    if let Err(e) = write_cache(cache_dir, &path, &component) {
        tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "cannot cache a compiled component");
    }
    Ok((component, hash))
}

fn write_cache(dir: &Path, path: &Path, component: &Component) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let bytes = component.serialize()?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// A core module starts with the Wasm magic and version 1; a component has layer 1.
fn is_core_module(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0..4] == *b"\0asm" && bytes[4..8] == [1, 0, 0, 0]
}
