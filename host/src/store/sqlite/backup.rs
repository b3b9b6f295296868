//! `switchboard backup`: an online copy of the database while a host serves it.
//!
//! SQLite's backup API copies the pages of one snapshot: the source is read in one step, inside
//! one read transaction, so the copy is consistent however busy the host is, and in WAL mode the
//! host's writer never waits for it (a copy made in many small steps would start again after
//! every commit of a busy host). The copy is written to a temporary file beside the target,
//! checked, synced and only then renamed over the target's name, so a crash or a full disk never
//! leaves a half-written backup under that name.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

/// What a backup wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    pub path: PathBuf,
    /// The backup file's size in bytes.
    pub bytes: u64,
    /// Conversations in the copy.
    pub conversations: i64,
    /// The schema version of the copy (a host at least this new can open it).
    pub schema_version: i64,
}

/// Copies the database at `source` to `target` (see the module's docs). Refuses to replace an
/// existing `target` unless `force`.
pub fn backup(source: &Path, target: &Path, force: bool) -> anyhow::Result<BackupReport> {
    if !source.is_file() {
        bail!(
            "there is no database at {} (is `[store] path` right?)",
            source.display()
        );
    }
    if target.exists() && !force {
        bail!(
            "{} exists already; pass --force to replace it",
            target.display()
        );
    }
    let name = target
        .file_name()
        .with_context(|| format!("{} is not a file name", target.display()))?
        .to_string_lossy()
        .into_owned();
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let temp = dir.join(format!(".{name}.{}.partial", uuid::Uuid::new_v4().simple()));
    let result = copy_to(source, &temp);
    let report = match result.and_then(|report| {
        std::fs::rename(&temp, target)
            .with_context(|| format!("cannot rename {} to {}", temp.display(), target.display()))?;
        Ok(report)
    }) {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            return Err(e);
        }
    };
    // The rename is durable once the folder is synced.
    if let Ok(folder) = std::fs::File::open(&dir) {
        let _ = folder.sync_all();
    }
    Ok(BackupReport {
        path: target.to_path_buf(),
        bytes: std::fs::metadata(target)?.len(),
        ..report
    })
}

/// Writes the copy to `temp`, checks it and syncs it; `bytes` is left for the caller.
fn copy_to(source: &Path, temp: &Path) -> anyhow::Result<BackupReport> {
    let from = Connection::open_with_flags(
        source,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("cannot open {}", source.display()))?;
    from.busy_timeout(std::time::Duration::from_secs(10))?;
    let mut to =
        Connection::open(temp).with_context(|| format!("cannot create {}", temp.display()))?;
    {
        let copy = Backup::new(&from, &mut to)?;
        // All pages in one step: one snapshot. Busy only while another connection holds a
        // lock the step needs; it is tried again shortly.
        let mut tries = 0;
        loop {
            match copy
                .step(-1)
                .with_context(|| format!("cannot copy {}", source.display()))?
            {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked => {
                    tries += 1;
                    if tries > 200 {
                        bail!("{} stayed locked; try again", source.display());
                    }
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                // A future result of rusqlite's: treat as "try again".
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    // One self-contained file: no write-ahead log beside it.
    to.pragma_update(None, "journal_mode", "DELETE")?;
    let check: String = to.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        bail!("the copy failed its check: {check}");
    }
    let conversations: i64 =
        to.query_row("SELECT COUNT(*) FROM conversations", [], |r| r.get(0))?;
    let schema_version: i64 = to.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    drop(to);
    std::fs::File::open(temp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("cannot sync {}", temp.display()))?;
    Ok(BackupReport {
        path: temp.to_path_buf(),
        bytes: 0,
        conversations,
        schema_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{StoreConfig, SyncMode};
    use crate::store::sqlite::SqliteStore;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "switchboard-backup-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_backup_of_an_open_store_is_a_store_with_the_same_conversations() {
        let dir = temp_dir();
        let config = StoreConfig {
            path: Some(dir.join("live.db")),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        };
        let store = SqliteStore::open(&config).unwrap();
        store.prefill("x", "support", 3, 2, 1_000).await.unwrap();

        let target = dir.join("copy.db");
        let report = backup(&config.db_path(), &target, false).unwrap();
        assert_eq!(report.conversations, 5);
        assert_eq!(report.bytes, std::fs::metadata(&target).unwrap().len());
        assert!(report.schema_version > 0);
        // Nothing but the live files and the copy is left in the folder.
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("live.db"))
            .collect();
        names.sort();
        assert_eq!(names, ["copy.db"]);

        let error = backup(&config.db_path(), &target, false).unwrap_err();
        assert!(
            error.to_string().contains("exists already; pass --force"),
            "{error}"
        );
        std::fs::write(&target, "not a database").unwrap();
        assert_eq!(
            backup(&config.db_path(), &target, true)
                .unwrap()
                .conversations,
            5
        );

        let restored = SqliteStore::open(&StoreConfig {
            path: Some(target),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        })
        .unwrap();
        use crate::store::api::ConversationStore;
        let counts = restored.count_by_state().await.unwrap();
        assert_eq!(counts.iter().map(|c| c.count).sum::<i64>(), 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_database_is_named() {
        let dir = temp_dir();
        let error = backup(&dir.join("none.db"), &dir.join("b.db"), false).unwrap_err();
        assert!(
            error.to_string().contains("there is no database at"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
