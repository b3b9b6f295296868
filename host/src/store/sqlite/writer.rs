//! The database thread. One thread owns the connection. Callers send it closures; it runs every
//! closure waiting in its queue inside **one** transaction (a closure that fails keeps none of its
//! writes and undoes no one else's: see [`run_batch`]), commits once, and only then answers each
//! caller.
//! A webhook is therefore on disk before the platform gets its 2xx, while concurrent webhooks
//! share one fsync instead of queueing behind each other's ("group commit").

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::schema;
use crate::config::{StoreConfig, SyncMode};

/// A unit of work for the database thread: the caller's closure, which may run more than once
/// (see [`run_batch`]), and the caller waiting for the result of its last run.
trait Task: Send {
    /// Runs the closure, in a savepoint of its own when `guarded`, and keeps its result.
    /// Returns whether it succeeded.
    fn run(&mut self, conn: &Connection, guarded: bool) -> bool;
    /// Answers the caller once the transaction's end is known (`Err` carries the commit error).
    fn answer(self: Box<Self>, commit: Result<(), String>);
    /// Runs in a transaction of its own, outside any savepoint (see [`Writer::call_alone`]).
    fn alone(&self) -> bool;
}

type Job = Box<dyn Task>;

struct Call<T, F> {
    f: F,
    result: Option<anyhow::Result<T>>,
    reply: oneshot::Sender<anyhow::Result<T>>,
    /// Runs in a transaction of its own, outside any savepoint: bulk work, where SQLite's
    /// savepoint bookkeeping grows with the pages the transaction has written (see
    /// [`Writer::call_alone`]).
    alone: bool,
}

impl<T, F> Task for Call<T, F>
where
    T: Send,
    F: Fn(&Connection) -> anyhow::Result<T> + Send,
{
    fn run(&mut self, conn: &Connection, guarded: bool) -> bool {
        let result = if guarded {
            run_in_savepoint(conn, &self.f)
        } else {
            (self.f)(conn)
        };
        let succeeded = result.is_ok();
        self.result = Some(result);
        succeeded
    }

    fn answer(self: Box<Self>, commit: Result<(), String>) {
        let result = match (commit, self.result) {
            (Ok(()), Some(result)) => result,
            // A job alone whose own work failed was rolled back: its error says why.
            (Err(_), Some(Err(e))) if self.alone => Err(e),
            (Err(e), _) => Err(anyhow::anyhow!("the store could not commit: {e}")),
            (Ok(()), None) => Err(anyhow::anyhow!("the store did not run the job")),
        };
        // A caller that has gone away no longer needs the answer.
        let _ = self.reply.send(result);
    }

    fn alone(&self) -> bool {
        self.alone
    }
}

/// A cheap handle to the database thread.
#[derive(Clone)]
pub struct Writer {
    jobs: std_mpsc::Sender<Job>,
}

/// Prepared statements kept per connection (the store has about a hundred).
const STATEMENT_CACHE: usize = 256;

/// Makes `conn` keep its prepared statements ([`STATEMENT_CACHE`] of them: rusqlite keeps 16 by
/// default, fewer than the hot path uses, and a miss parses and plans the SQL again) and plan
/// each once. By default SQLite plans some statements for the values bound to them (a
/// `LIMIT ?` since 3.50, a `LIKE ?` pattern): binding any value to such a parameter, even the
/// same one, throws the plan away, so every run of a cached statement with a `LIMIT ?`
/// (claiming sends, events, timeouts) parsed and planned it again, 9 % of the host's CPU. The
/// store's queries are written for the plans their indexes give whatever the values, which is
/// what the query planner stability guarantee keeps.
pub(super) fn keep_statements(conn: &Connection) -> rusqlite::Result<()> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
}

/// The most closures committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 256;

/// A batch of at least this many jobs is a sign of load: the store thread then waits [`LINGER`]
/// for more before it commits. Each commit takes the log's locks and writes every page it
/// changed; pages two jobs share (the ends of the tables and indexes, the counters) are written
/// once per commit. Under the bench this made a third of the commits and 5-15 % fewer log
/// writes. A lone job (an idle host) never waits.
const LINGER_FROM: usize = 8;
const LINGER: Duration = Duration::from_micros(300);

/// While the store thread is mostly idle ([`Pace`]), it waits longer, from two jobs on: at
/// moderate load, jobs otherwise trickle in one or two per commit (at 1,500 messages/s, two
/// jobs a commit, 30 log pages written per message). Waiting a millisecond made commits five
/// times larger and cut the host's CPU per message by a quarter, for a few milliseconds more
/// per reply. Near saturation it is off: the queue then fills batches by itself, and the wait
/// would only hold the thread idle.
const LIGHT_LINGER_FROM: usize = 2;
const LIGHT_LINGER: Duration = Duration::from_millis(1);

/// How the store thread batches, from how busy it was of late: the share of the last
/// [`Pace::WINDOW`] it spent running batches (waiting for jobs and lingering are idle).
struct Pace {
    window_started: Instant,
    busy: Duration,
    light: bool,
}

impl Pace {
    const WINDOW: Duration = Duration::from_millis(100);
    /// Busier than this, a light pace ends; less busy than [`Pace::LIGHT_BELOW`], it starts
    /// (apart, so the pace does not flip at every window near the boundary).
    const HEAVY_ABOVE: f64 = 0.6;
    const LIGHT_BELOW: f64 = 0.4;

    fn new(now: Instant) -> Pace {
        Pace {
            window_started: now,
            busy: Duration::ZERO,
            light: true,
        }
    }

    /// How long to wait for more jobs, holding `batched` and finding the queue empty.
    fn linger(&self, batched: usize) -> Option<Duration> {
        if self.light && batched >= LIGHT_LINGER_FROM {
            Some(LIGHT_LINGER)
        } else if batched >= LINGER_FROM {
            Some(LINGER)
        } else {
            None
        }
    }

    /// Counts a batch that ran from `started` to `now`.
    fn ran(&mut self, started: Instant, now: Instant) {
        self.busy += now.saturating_duration_since(started);
        let elapsed = now.saturating_duration_since(self.window_started);
        if elapsed < Pace::WINDOW {
            return;
        }
        let share = self.busy.as_secs_f64() / elapsed.as_secs_f64();
        self.light = match self.light {
            true => share <= Pace::HEAVY_ABOVE,
            false => share < Pace::LIGHT_BELOW,
        };
        self.window_started = now;
        self.busy = Duration::ZERO;
    }
}

impl Writer {
    /// Open (or create) the database and start its thread.
    pub fn open(config: &StoreConfig) -> anyhow::Result<Writer> {
        let path = config.db_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
        }
        let conn = open_connection(&path, config.sync)?;
        let checkpoints = open_checkpointer(&path, config.sync)?;
        let (tx, rx) = std_mpsc::channel::<Job>();
        // The checkpointer stops when the store thread ends and drops `running`.
        let (running, stopped) = std_mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("switchboard-store".into())
            .spawn(move || {
                let _running = running;
                run_writer(conn, rx)
            })
            .context("cannot start the store thread")?;
        std::thread::Builder::new()
            .name("switchboard-ckpt".into())
            .spawn(move || run_checkpointer(checkpoints, stopped))
            .context("cannot start the store's checkpoint thread")?;
        Ok(Writer { jobs: tx })
    }

    /// Run `f` on the database thread inside a transaction; the result is returned after the
    /// transaction commits, so whatever `f` wrote is durable when this returns `Ok`.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.send(f, false).await
    }

    /// Run `f` on the database thread in a transaction of its own, committed on its own, with no
    /// savepoint around it: for bulk writes (the bench's prefill). Inside a savepoint, every
    /// statement's own savepoint costs SQLite time in proportion to the pages the transaction has
    /// dirtied, which made a 5,000-conversation chunk take seconds. If `f` fails, its writes
    /// are rolled back.
    pub async fn call_alone<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        self.send(f, true).await
    }

    async fn send<T, F>(&self, f: F, alone: bool) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(Call {
            f,
            result: None,
            reply,
            alone,
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the store thread has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the store thread stopped before committing"))?
    }
}

/// SQLite's `synchronous` setting for the configured sync mode.
fn synchronous(sync: SyncMode) -> &'static str {
    match sync {
        SyncMode::Full => "FULL",
        SyncMode::Normal => "NORMAL",
    }
}

fn open_connection(path: &Path, sync: SyncMode) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous(sync))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The writer keeps the hot parts of the indexes in memory (64 MiB): with a million
    // conversations, inserts land at random places of the customer indexes.
    conn.pragma_update(None, "cache_size", -65536)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Every unit of work runs through cached statements.
    keep_statements(&conn)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // The checkpoint thread copies the log into the database; the writer does it itself only
    // when the log has grown past this many pages (80 MiB), if that thread falls behind.
    conn.pragma_update(None, "wal_autocheckpoint", WRITER_CHECKPOINT_PAGES)?;
    schema::migrate(&conn)
        .with_context(|| format!("cannot prepare the database {}", path.display()))?;
    Ok(conn)
}

/// Log pages past which the writer checkpoints by itself (see [`run_checkpointer`]).
const WRITER_CHECKPOINT_PAGES: i64 = 20_000;

/// How often the checkpoint thread copies what the log holds into the database.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

fn open_checkpointer(path: &Path, sync: SyncMode) -> anyhow::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| {
        format!(
            "cannot open the database {} to checkpoint it",
            path.display()
        )
    })?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // A checkpoint syncs the log and the database as the writer's setting says.
    conn.pragma_update(None, "synchronous", synchronous(sync))?;
    Ok(conn)
}

/// The checkpoint thread. With SQLite's default, the commit that fills the log past 1,000 pages
/// also copies the log into the database and syncs it, on the store thread: a quarter of that
/// thread's time under load, and a pause of every waiting webhook while the disk syncs. Here a
/// passive checkpoint (which never blocks the writer or readers) runs on a connection of its
/// own every [`CHECKPOINT_EVERY`]; the writer starts the log over once it has all been copied.
fn run_checkpointer(conn: Connection, stopped: std_mpsc::Receiver<()>) {
    let mut failing = false;
    while let Err(std_mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY) {
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                failing = true;
                tracing::warn!(error = %e, "store: a checkpoint failed; the writer checkpoints when the log grows past {WRITER_CHECKPOINT_PAGES} pages");
            }
            Err(_) => {}
        }
    }
}

/// Runs one closure in a savepoint: its writes are kept only if it succeeds.
fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl Fn(&Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
    match f(conn) {
        Ok(v) => {
            conn.prepare_cached("RELEASE job")?.execute([])?;
            Ok(v)
        }
        Err(e) => {
            conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
            conn.prepare_cached("RELEASE job")?.execute([])?;
            Err(e)
        }
    }
}

/// Runs `sql` (a transaction statement) through the statement cache.
fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.execute([]))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The database thread: run the waiting jobs in one transaction, commit, then answer them all.
/// A job that must run alone ends the batch it arrives in and runs next, by itself.
fn run_writer(conn: Connection, rx: std_mpsc::Receiver<Job>) {
    let mut next: Option<Job> = None;
    let mut pace = Pace::new(Instant::now());
    while let Some(first) = next.take().or_else(|| rx.recv().ok()) {
        if first.alone() {
            let started = Instant::now();
            run_alone(&conn, first);
            pace.ran(started, Instant::now());
            continue;
        }
        let mut batch = vec![first];
        let mut lingered = false;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) if job.alone() => {
                    next = Some(job);
                    break;
                }
                Ok(job) => batch.push(job),
                // Wait a moment for more: see [`LINGER`] and [`LIGHT_LINGER`].
                Err(_) => match pace.linger(batch.len()).filter(|_| !lingered) {
                    Some(wait) => {
                        lingered = true;
                        std::thread::sleep(wait);
                    }
                    None => break,
                },
            }
        }
        // The linger is idle time, not work.
        let started = Instant::now();
        run_batch(&conn, batch);
        pace.ran(started, Instant::now());
    }
}

/// Runs a batch of jobs in one transaction and commits it, then answers them all.
///
/// The jobs run one after the other with no savepoint between them: a savepoint makes SQLite
/// copy every page a job changes that an earlier job of the batch had already changed, 6 % of
/// the host's CPU under load. A job that fails without having changed a row leaves nothing to
/// undo (SQLite undoes a failing statement by itself). Only a job that fails after changing
/// rows, which is rare, costs more: the transaction is rolled back and every job of the batch
/// runs again, each in a savepoint of its own, so that job's writes go and the others' stay.
fn run_batch(conn: &Connection, mut batch: Vec<Job>) {
    let commit = exec(conn, "BEGIN IMMEDIATE").and_then(|()| {
        let redo = run_all(conn, &mut batch, false)?;
        if redo {
            tracing::debug!(
                jobs = batch.len(),
                "store: a job failed after writing; its batch runs again, each job in a savepoint"
            );
            exec(conn, "ROLLBACK")?;
            exec(conn, "BEGIN IMMEDIATE")?;
            run_all(conn, &mut batch, true)?;
        }
        exec(conn, "COMMIT").inspect_err(|_| {
            let _ = exec(conn, "ROLLBACK");
        })
    });
    if let Err(e) = &commit {
        tracing::error!(error = %e, "store: a transaction failed; its callers get an error");
    }
    for job in batch {
        job.answer(commit.clone());
    }
}

/// Runs every job of `batch` in the open transaction. Unguarded, stops at the first job that
/// failed after changing rows and returns `true` (the batch must run again, guarded).
fn run_all(conn: &Connection, batch: &mut [Job], guarded: bool) -> Result<bool, String> {
    for job in batch.iter_mut() {
        let before = conn.total_changes();
        if job.run(conn, guarded) {
            continue;
        }
        // An I/O error, a full disk or an interrupt can make SQLite roll the whole transaction
        // back: the jobs after it would then commit one statement at a time.
        if conn.is_autocommit() {
            return Err("the transaction was rolled back by a failing job".to_string());
        }
        if !guarded && conn.total_changes() != before {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Runs one job in its own transaction: committed if it succeeded, rolled back if it failed.
fn run_alone(conn: &Connection, mut job: Job) {
    if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "store: a transaction failed; its caller gets an error");
        job.answer(Err(e));
        return;
    }
    let succeeded = job.run(conn, false);
    let end = if succeeded {
        exec(conn, "COMMIT")
    } else {
        exec(conn, "ROLLBACK").and(Err("the job failed and was rolled back".to_string()))
    };
    if let Err(e) = &end
        && succeeded
    {
        let _ = exec(conn, "ROLLBACK");
        tracing::error!(error = %e, "store: a transaction failed; its caller gets an error");
    }
    job.answer(end);
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::{LIGHT_LINGER, LINGER, Pace, Writer};
    use crate::config::{StoreConfig, SyncMode};

    /// Runs `windows` windows of [`Pace::WINDOW`], busy for `share` of each.
    fn windows(pace: &mut Pace, start: Instant, from: u32, windows: u32, share: f64) {
        for w in from..from + windows {
            let end = start + Pace::WINDOW * (w + 1);
            pace.ran(end - Pace::WINDOW.mul_f64(share), end);
        }
    }

    #[test]
    fn the_store_thread_lingers_long_only_while_it_is_mostly_idle() {
        let start = Instant::now();
        let mut pace = Pace::new(start);
        // Idle: two jobs wait a millisecond for more; a lone job never waits.
        assert_eq!(pace.linger(1), None);
        assert_eq!(pace.linger(2), Some(LIGHT_LINGER));
        // Busy 70 % of a window: only a batch of 8 waits, and briefly.
        windows(&mut pace, start, 0, 1, 0.7);
        assert_eq!(pace.linger(2), None);
        assert_eq!(pace.linger(8), Some(LINGER));
        // Between the two thresholds the pace holds, whichever it is.
        windows(&mut pace, start, 1, 3, 0.5);
        assert_eq!(pace.linger(2), None);
        windows(&mut pace, start, 4, 1, 0.3);
        assert_eq!(pace.linger(2), Some(LIGHT_LINGER));
        windows(&mut pace, start, 5, 3, 0.5);
        assert_eq!(pace.linger(2), Some(LIGHT_LINGER));
        // A window counts whole: a batch within it does not change the pace yet.
        let end = start + Pace::WINDOW * 8 + Duration::from_millis(95);
        pace.ran(end - Duration::from_millis(90), end);
        assert_eq!(pace.linger(2), Some(LIGHT_LINGER));
    }

    fn count(conn: &rusqlite::Connection) -> anyhow::Result<i64> {
        Ok(conn.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?)
    }

    /// A writer of a new database `w.db` in a folder of its own (returned, to remove).
    fn temp_writer() -> (std::path::PathBuf, Writer) {
        let dir = std::env::temp_dir().join(format!("sb-writer-{}", uuid::Uuid::new_v4().simple()));
        let writer = Writer::open(&StoreConfig {
            path: Some(dir.join("w.db")),
            sync: SyncMode::Normal,
            ..StoreConfig::default()
        })
        .unwrap();
        (dir, writer)
    }

    #[tokio::test]
    async fn a_cached_statement_is_planned_once_whatever_its_limit() {
        let (dir, writer) = temp_writer();
        let reprepared = writer
            .call(|c| {
                let sql = "SELECT seq FROM inbox WHERE seq > ?1 ORDER BY seq LIMIT ?2";
                for limit in [10i64, 20, 10, 5] {
                    let mut stmt = c.prepare_cached(sql)?;
                    stmt.query_map([0, limit], |r| r.get::<_, i64>(0))?
                        .for_each(drop);
                }
                let stmt = c.prepare_cached(sql)?;
                Ok(stmt.get_status(rusqlite::StatementStatus::RePrepare))
            })
            .await
            .unwrap();
        assert_eq!(reprepared, 0, "the statement was planned again per run");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_job_alone_commits_its_work_or_none_of_it_between_batched_jobs() {
        let (dir, writer) = temp_writer();
        writer
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        // Batched jobs and jobs alone sent together: each keeps its own outcome.
        let batched = writer.call(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
        let alone_ok = writer.call_alone(|c| {
            for n in 10..20 {
                c.execute("INSERT INTO t VALUES (?1)", [n])?;
            }
            Ok(())
        });
        let alone_failing = writer.call_alone(|c| {
            c.execute("INSERT INTO t VALUES (30)", [])?;
            c.execute("INSERT INTO t VALUES (30)", [])?; // a duplicate key: the job fails
            Ok(())
        });
        let after = writer.call(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?));
        let (batched, alone_ok, alone_failing, after) =
            tokio::join!(batched, alone_ok, alone_failing, after);
        batched.unwrap();
        alone_ok.unwrap();
        let error = alone_failing.unwrap_err().to_string();
        assert!(
            error.contains("UNIQUE"),
            "the job's own error, got: {error}"
        );
        after.unwrap();
        // 1, 2 and 10..20; nothing of the failed job (30).
        assert_eq!(writer.call(|c| count(c)).await.unwrap(), 12);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn a_job_that_fails_after_writing_loses_its_writes_and_no_one_elses() {
        let (dir, writer) = temp_writer();
        writer
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")?))
            .await
            .unwrap();
        // The first job holds the store thread a moment, so the others queue behind it and
        // share a batch (whether they do or not, each must keep its own outcome).
        let first = writer.call(|c| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            Ok(c.execute("INSERT INTO t VALUES (1)", [])?)
        });
        let before = writer.call(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?));
        let failing_after_writing = writer.call(|c| {
            c.execute("INSERT INTO t VALUES (3)", [])?;
            c.execute("INSERT INTO t VALUES (1)", [])?; // a duplicate key: the job fails
            Ok(())
        });
        let failing_at_once = writer.call(|c| Ok(c.execute("INSERT INTO t VALUES (2)", [])?));
        let after = writer.call(|c| Ok(c.execute("INSERT INTO t VALUES (4)", [])?));
        let (first, before, failing_after_writing, failing_at_once, after) =
            tokio::join!(first, before, failing_after_writing, failing_at_once, after);
        first.unwrap();
        before.unwrap();
        after.unwrap();
        for failed in [failing_after_writing.map(|_| 0), failing_at_once] {
            let error = failed.unwrap_err().to_string();
            assert!(
                error.contains("UNIQUE"),
                "the job's own error, got: {error}"
            );
        }
        let rows = writer
            .call(|c| {
                let mut stmt = c.prepare("SELECT n FROM t ORDER BY n")?;
                let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(
            rows,
            [1, 2, 4],
            "nothing of the failed jobs (3), all of the others"
        );
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The writer leaves checkpoints to the checkpoint thread (it would checkpoint only past
    /// 20,000 log pages): what it commits reaches the database file itself without another
    /// write.
    #[tokio::test]
    async fn the_checkpoint_thread_copies_commits_into_the_database_file() {
        let (dir, writer) = temp_writer();
        let path = dir.join("w.db");
        writer
            .call(|c| Ok(c.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT)")?))
            .await
            .unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // About 2 MB of rows: 500 pages in the log, far below the writer's own threshold.
        writer
            .call(|c| {
                for n in 0..2_000 {
                    c.execute("INSERT INTO t VALUES (?1, ?2)", (n, "x".repeat(1_000)))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        // No deadline races the machine's speed: the thread runs every 200 ms; a minute is
        // only the point where the test gives up.
        let started = std::time::Instant::now();
        while std::fs::metadata(&path).unwrap().len() < before + 2_000_000 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the database file stayed at {} bytes",
                std::fs::metadata(&path).unwrap().len()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        drop(writer);
        let _ = std::fs::remove_dir_all(dir);
    }
}
