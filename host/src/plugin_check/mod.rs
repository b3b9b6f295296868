//! `switchboard plugin check FILE.wasm --fixtures DIR`: the compliance suites a partner runs on
//! their own component, from any folder, with nothing of this workspace; and the same suites the
//! workspace runs on every plugin it builds (`tests/tests/compliance/`, through [`check_tree`]).
//!
//! What a plugin is checked against is data, a profile in its fixtures folder, not code:
//!
//! - `check.toml`: the profile; a folder may hold several (`check-messenger.toml`,
//!   `check-instagram.toml` for one adapter serving two platforms), each run in turn;
//! - a profile with `kind = "bot"` or `kind = "data-action"` is a flow-plugin profile
//!   ([`flow`]), any other an adapter profile ([`adapter`]); the component's exports say which
//!   suite runs, and a profile of the other kind fails;
//! - `use = "../../open-messaging/fixtures"` (alone in a check.toml) runs the profiles of that
//!   folder instead, for a twin of a plugin in another language.

mod adapter;
mod adapter_profile;
mod backend;
mod flow;
mod handshake;
mod profiles;
mod report;

use std::path::{Path, PathBuf};

use anyhow::Context;

pub use adapter_profile::{Answer, Handshake, HandshakeAnswer, Profile, Signature, Yields};
pub use handshake::webhook_request;
pub use profiles::{ProfileFile, is_profile_file, profile_files};
pub use report::Report;

use crate::config::{PluginGrant, PluginsConfig};
use crate::runtime::{Loaded, PluginRuntime};

/// A runtime for checks: the host's default limits, compiled code cached in `cache_dir` when
/// given.
pub fn runtime(cache_dir: Option<PathBuf>) -> anyhow::Result<PluginRuntime> {
    let mut config = PluginsConfig::default();
    if let Some(dir) = cache_dir {
        config.cache_dir = dir;
    }
    PluginRuntime::new(&config)
}

/// `switchboard plugin check FILE --fixtures DIR`: the suite the component's exports call for,
/// with the profiles of `fixtures`.
pub async fn check(file: &Path, fixtures: &Path) -> anyhow::Result<Report> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let name = file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_string();
    let profiles = profile_files(fixtures)?;
    anyhow::ensure!(
        !profiles.is_empty(),
        "{} has no check.toml (see `switchboard plugin check --help` and docs/plugins.md)",
        fixtures.display()
    );
    check_component(&runtime(None)?, &name, bytes, &profiles).await
}

/// Loads the component as the host would and runs each profile's suite on it.
pub async fn check_component(
    runtime: &PluginRuntime,
    name: &str,
    bytes: Vec<u8>,
    profiles: &[ProfileFile],
) -> anyhow::Result<Report> {
    let mut flows = Vec::new();
    for profile in profiles {
        if profile.is_flow()? {
            let parsed = flow::Profile::read(profile)?;
            flows.push((profile, parsed));
        }
    }
    // A data action's fixtures may need a backend: served on loopback, granted to the plugin.
    let backend = match flows.iter().find(|(_, p)| !p.backend.is_empty()) {
        Some((_, p)) => Some(backend::Backend::start(p.backend.clone()).await?),
        None => None,
    };
    let mut grant = PluginGrant::none(name);
    if let Some(backend) = &backend {
        grant.http_hosts.push(backend.host());
    }
    let mut report = Report::default();
    let loaded = match runtime.load(name, bytes, &grant).await {
        Ok(loaded) => loaded,
        Err(e) => {
            report.check(false, format!("loads as the host loads it: {e}"));
            return Ok(report);
        }
    };
    let many = profiles.len() > 1;
    for profile in profiles {
        let prefix = if many {
            format!("[{}] ", profile.label)
        } else {
            String::new()
        };
        let mut part = Report::default();
        match (
            &loaded,
            flows.iter().find(|(f, _)| std::ptr::eq(*f, profile)),
        ) {
            (Loaded::Adapter(adapter), None) => {
                part.check(true, "loads as the host loads it: a channel adapter");
                adapter::run(adapter, &profile.adapter()?, &profile.fixtures, &mut part).await?;
            }
            (Loaded::Flow(plugin), Some((_, flow_profile))) => {
                let base = backend.as_ref().map(backend::Backend::base_url);
                flow::run(runtime, plugin, flow_profile, base.as_deref(), &mut part).await?;
            }
            (Loaded::Adapter(_), Some((_, p))) => part.check(
                false,
                format!(
                    "{}: the profile is for a {}, but this component is a channel adapter",
                    profile.path.display(),
                    p.kind.as_str()
                ),
            ),
            (Loaded::Flow(plugin), None) => part.check(
                false,
                format!(
                    "{}: the profile is for a channel adapter, but this component is a {}",
                    profile.path.display(),
                    flow::kind_name(plugin.kind())
                ),
            ),
        }
        report.absorb(&prefix, part);
    }
    Ok(report)
}

/// The in-tree suite: every component directly in `built` (`target/plugins/NAME.wasm`) runs
/// the profiles of `sources/NAME/fixtures`. A component without a profile fails, and so does a
/// profile whose component was not built. `only` keeps the plugins whose names it accepts.
pub async fn check_tree(
    runtime: &PluginRuntime,
    built: &Path,
    sources: &Path,
    only: &dyn Fn(&str) -> bool,
) -> anyhow::Result<Report> {
    let mut names: Vec<String> = std::fs::read_dir(built)
        .with_context(|| format!("cannot list {}", built.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| only(name))
        .collect();
    names.sort();
    let mut report = Report::default();
    for name in &names {
        let dir = sources.join(name).join("fixtures");
        let profiles = profile_files(&dir)?;
        if profiles.is_empty() {
            report.check(
                false,
                format!(
                    "{name}: no compliance profile: write {}/check.toml (docs/plugins.md, \
                     section 13)",
                    dir.display()
                ),
            );
            continue;
        }
        let bytes = std::fs::read(built.join(format!("{name}.wasm")))?;
        let part = check_component(runtime, name, bytes, &profiles).await?;
        report.absorb(&format!("{name}: "), part);
    }
    // The other way round: a profile whose plugin is missing was not checked at all.
    let mut profiled: Vec<String> = std::fs::read_dir(sources)
        .with_context(|| format!("cannot list {}", sources.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| {
            profile_files(&e.path().join("fixtures")).is_ok_and(|profiles| !profiles.is_empty())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| only(name))
        .collect();
    profiled.sort();
    for name in profiled.iter().filter(|n| !names.contains(n)) {
        report.check(
            false,
            format!(
                "{name}: has a profile, but {} is missing: run `cargo xtask build-plugins` (a \
                 JavaScript plugin needs Node.js 18+ with npm, a Python one python3 with venv)",
                built.join(format!("{name}.wasm")).display()
            ),
        );
    }
    Ok(report)
}
