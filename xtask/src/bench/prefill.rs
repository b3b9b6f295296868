//! The store of the scale session: a million conversations (10,000 of them waiting in `support`
//! with no agent), written once by `switchboard bench-prefill` through the store's own code and
//! cached as `target/bench/prefill-1000000.db`; each scale session runs on a copy.
//!
//! Delete the cache to rebuild it (after the prefill's rows change; a schema change alone is
//! migrated by the host when it opens the copy).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::Context;

use super::config::{self, BENCH_INTEGRATION};
use crate::{Workspace, step};

pub const CONVERSATIONS: u64 = 1_000_000;
pub const WAITING: u64 = 10_000;

/// SQLite's write-ahead log beside `db`, which holds committed pages until a checkpoint.
fn wal(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The cached prefilled database, made first if it is not there.
pub fn ensure(ws: &Workspace, plugins: &Path, out: &Path) -> anyhow::Result<PathBuf> {
    let cache = out.join(format!("prefill-{CONVERSATIONS}.db"));
    if cache.is_file() {
        step(&format!(
            "reuse {} (delete it to prefill again)",
            cache.display()
        ));
        return Ok(cache);
    }
    let build = out.join("prefill-build");
    if build.exists() {
        fs::remove_dir_all(&build).with_context(|| format!("cannot remove {}", build.display()))?;
    }
    fs::create_dir_all(&build).with_context(|| format!("cannot create {}", build.display()))?;
    let store = build.join("switchboard.db");
    let config_path = build.join("switchboard.toml");
    let unused = "127.0.0.1:9".parse().context("a loopback address")?;
    fs::write(
        &config_path,
        config::host_config(ws, plugins, config::Store::Sqlite(&store), unused, unused),
    )
    .with_context(|| format!("cannot write {}", config_path.display()))?;
    let started = Instant::now();
    crate::run(
        Command::new(ws.bin("release", "switchboard"))
            .arg("bench-prefill")
            .arg("--config")
            .arg(&config_path)
            .args(["--conversations", &CONVERSATIONS.to_string()])
            .args(["--waiting", &WAITING.to_string()])
            .args(["--integration", BENCH_INTEGRATION])
            .args(["--queue", "support"]),
    )?;
    step(&format!(
        "prefilled in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    if wal(&store).exists() {
        fs::rename(wal(&store), wal(&cache)).context("caching the prefill's write-ahead log")?;
    }
    fs::rename(&store, &cache).with_context(|| format!("cannot write {}", cache.display()))?;
    let _ = fs::remove_dir_all(&build);
    Ok(cache)
}

/// Copies the cached database (and its write-ahead log, if any) to `to`.
pub fn copy(cache: &Path, to: &Path) -> anyhow::Result<()> {
    step(&format!("copy {} -> {}", cache.display(), to.display()));
    fs::copy(cache, to)
        .with_context(|| format!("cannot copy {} to {}", cache.display(), to.display()))?;
    if wal(cache).exists() {
        fs::copy(wal(cache), wal(to)).context("copying the prefill's write-ahead log")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_ahead_log_sits_beside_the_database() {
        assert_eq!(
            wal(Path::new("/t/prefill-1000000.db")),
            Path::new("/t/prefill-1000000.db-wal")
        );
    }
}
