//! Reads that never queue behind writes: with SQLite in WAL mode, readers see the last
//! committed state while the writer thread works. A small pool of read-only connections serves
//! them on the blocking threads; each read runs in one transaction, so it sees one snapshot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

/// The most idle read connections kept.
const KEEP: usize = 8;

/// A pool of read-only connections to one database.
#[derive(Clone)]
pub struct Readers {
    path: Arc<PathBuf>,
    idle: Arc<Mutex<Vec<Connection>>>,
}

impl Readers {
    /// Readers of the database at `path` (which the writer has created and migrated).
    pub fn new(path: &Path) -> Readers {
        Readers {
            path: Arc::new(path.to_path_buf()),
            idle: Arc::default(),
        }
    }

    fn connect(path: &Path) -> anyhow::Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_context(|| format!("cannot open {} for reading", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // A read transaction that starts after a commit drops the connection's page cache
        // (WAL), so a big cache only costs clearing; reads come from the OS page cache through
        // a memory map instead of being copied.
        conn.pragma_update(None, "cache_size", -1024)?;
        conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
        super::writer::keep_statements(&conn)?;
        Ok(conn)
    }

    /// Runs `f` on a read connection, in one read transaction.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (path, idle) = (self.path.clone(), self.idle.clone());
        tokio::task::spawn_blocking(move || {
            let taken = idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let conn = match taken {
                Some(conn) => conn,
                None => Self::connect(&path)?,
            };
            conn.prepare_cached("BEGIN")?.execute([])?;
            let result = f(&conn);
            let ended = conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]));
            if ended.is_ok() {
                let mut idle = idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < KEEP {
                    idle.push(conn);
                }
            }
            result
        })
        .await
        .map_err(|e| anyhow::anyhow!("a store read failed to run: {e}"))?
    }
}
