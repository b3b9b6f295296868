//! Durable state: the SQLite database every other part reads and writes through.
//!
//! One thread owns the connection. Callers send it closures; it runs every closure waiting in
//! its queue inside **one** transaction (each in its own savepoint, so one failing closure
//! does not undo the others), commits once, and only then answers each caller. A webhook is
//! therefore on disk before the platform gets its 2xx, while concurrent webhooks share one
//! fsync instead of queueing behind each other's ("group commit").
//!
//! The typed operations live beside this file, one file per kind of data.

pub mod acd;
pub mod agents;
pub mod conversations;
pub mod flows;
pub mod inbox;
pub mod integrations;
pub mod messages;
pub mod plugin_kv;
pub mod plugins;
mod schema;

use std::path::Path;
use std::sync::mpsc as std_mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use rusqlite::Connection;
use tokio::sync::oneshot;

pub use agents::Presence;
pub use conversations::{Conversation, ConversationState};
pub use flows::FlowVersion;
pub use inbox::{InboxEvent, InsertOutcome};
pub use messages::{Direction, Message, MessageStatus, NewMessage};

use crate::config::{StoreConfig, SyncMode};

/// A unit of work for the database thread. It runs inside the batch's transaction and returns
/// the reply to deliver once the batch's commit is known (`Err` carries the commit error).
type Job = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;

/// A cheap handle to the database thread.
#[derive(Clone)]
pub struct Store {
    jobs: std_mpsc::Sender<Job>,
}

/// The most closures committed together; bounds the latency one batch adds.
const MAX_BATCH: usize = 256;

impl Store {
    /// Open (or create) the database and start its thread.
    pub fn open(config: &StoreConfig) -> anyhow::Result<Store> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
        }
        let conn = open_connection(&config.path, config.sync)?;
        let (tx, rx) = std_mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("switchboard-store".into())
            .spawn(move || run_writer(conn, rx))
            .context("cannot start the store thread")?;
        Ok(Store { jobs: tx })
    }

    /// Run `f` on the database thread inside a transaction; the result is returned after the
    /// transaction commits, so whatever `f` wrote is durable when this returns `Ok`.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> anyhow::Result<T> + Send + 'static,
    {
        let (reply_tx, reply_rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = run_in_savepoint(conn, f);
            Box::new(move |commit: Result<(), String>| {
                let result = match commit {
                    Ok(()) => result,
                    Err(e) => Err(anyhow::anyhow!("the store could not commit: {e}")),
                };
                // A caller that has gone away no longer needs the answer.
                let _ = reply_tx.send(result);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the store thread has stopped"))?;
        reply_rx
            .await
            .map_err(|_| anyhow::anyhow!("the store thread stopped before committing"))?
    }
}

fn open_connection(path: &Path, sync: SyncMode) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        if sync == SyncMode::Full {
            "FULL"
        } else {
            "NORMAL"
        },
    )?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    schema::migrate(&conn)
        .with_context(|| format!("cannot prepare the database {}", path.display()))?;
    Ok(conn)
}

/// Runs one closure in a savepoint: its writes are kept only if it succeeds.
fn run_in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("RELEASE job")?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(e)
        }
    }
}

/// The database thread: run the waiting jobs in one transaction, commit, then answer them all.
fn run_writer(conn: Connection, rx: std_mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let commit = conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| e.to_string())
            .and_then(|()| {
                let replies: Vec<Reply> = batch.drain(..).map(|job| job(&conn)).collect();
                match conn.execute_batch("COMMIT") {
                    Ok(()) => Ok(replies),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        for reply in replies {
                            reply(Err(e.to_string()));
                        }
                        Err(e.to_string())
                    }
                }
            });
        match commit {
            Ok(replies) => replies.into_iter().for_each(|reply| reply(Ok(()))),
            Err(e) => {
                tracing::error!(error = %e, "store: a transaction failed; its callers get an error");
                // Jobs that never ran (BEGIN failed) are dropped: their callers see an error.
            }
        }
    }
}

/// Milliseconds since the Unix epoch; every timestamp in the store uses this unit.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new random id with a readable prefix, e.g. `c_3f2a...` for a conversation.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
pub(crate) fn open_temp() -> (tempdir::TempDir, Store) {
    let dir = tempdir::TempDir::new();
    let store = Store::open(&StoreConfig {
        path: dir.path().join("t.db"),
        sync: SyncMode::Normal,
    })
    .expect("open store");
    (dir, store)
}

#[cfg(test)]
pub(crate) mod tempdir {
    /// A folder under the system temp dir, removed on drop (no extra crate for tests).
    pub struct TempDir(std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let p = std::env::temp_dir().join(format!(
                "switchboard-test-{}",
                uuid::Uuid::new_v4().simple()
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Author, InboundEvent, InboundMessage, Profile};

    fn conversation(id: &str) -> Conversation {
        Conversation {
            id: id.into(),
            integration: "x-demo".into(),
            customer_id: "42".into(),
            customer: Profile::default(),
            state: ConversationState::Queued,
            flow: None,
            flow_version: None,
            flow_state: None,
            queue: Some("support".into()),
            priority: 0,
            skills: vec![],
            agent: None,
            last_agent: None,
            participant_data: Default::default(),
            queued_at: Some(1),
            created_at: 1,
            updated_at: 1,
            last_customer_at: 1,
            last_customer_written_at: 1,
            flow_timeout_at: None,
            language: None,
            preferred_agents: vec![],
            inactivity_warned_at: None,
            assigned_at: None,
        }
    }

    fn outbound(conversation: &str, text: &str) -> NewMessage {
        NewMessage {
            conversation: conversation.into(),
            direction: Direction::Outbound,
            author: Author::Bot,
            agent: None,
            text: Some(text.into()),
            attachments: vec![],
            quick_replies: vec![],
            quick_reply: None,
            platform_id: None,
            in_reply_to: None,
            kind: Default::default(),
            template: None,
            reaction: None,
            reply_to: None,
        }
    }

    #[tokio::test]
    async fn a_redelivered_event_is_stored_once() {
        let (_dir, store) = open_temp();
        let event = InboundEvent::Message(InboundMessage {
            id: "dm-1".into(),
            customer_id: "42".into(),
            timestamp_ms: 1,
            text: Some("hi".into()),
            attachments: vec![],
            quick_reply: None,
            profile: None,
            kind: Default::default(),
            reply_to: None,
            reaction: None,
        });
        let events = vec![event.clone(), event];
        let outcomes = store
            .call(move |c| inbox::insert(c, "x-demo", &events, 1))
            .await
            .unwrap();
        assert!(matches!(outcomes[0], InsertOutcome::Stored(_)));
        assert_eq!(outcomes[1], InsertOutcome::Duplicate);
        assert_eq!(
            store
                .call(|c| inbox::pending(c, 0, 10))
                .await
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn a_conversation_sends_in_order_and_only_one_agent_claims_it() {
        let (_dir, store) = open_temp();
        let (first, second, other) = store
            .call(|c| {
                conversations::insert(c, &conversation("c1"))?;
                conversations::insert(c, &conversation("c2"))?;
                let first = messages::insert(c, outbound("c1", "one"), 1)?;
                let second = messages::insert(c, outbound("c1", "two"), 1)?;
                let other = messages::insert(c, outbound("c2", "three"), 1)?;
                Ok((first, second, other))
            })
            .await
            .unwrap();
        let due: Vec<String> = store
            .call(|c| messages::due(c, 10, 10))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(
            due,
            vec![first.clone(), other.clone()],
            "the second message of c1 waits for the first"
        );
        let claimed = store
            .call(|c| messages::claim_due(c, 10, 1, 1000))
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(
            (claimed[0].id.as_str(), claimed[0].attempts),
            (first.as_str(), 1)
        );
        store
            .call(move |c| messages::mark_sent(c, &first, "p1", 1, 2))
            .await
            .unwrap();
        let due: Vec<String> = store
            .call(|c| messages::due(c, 10, 10))
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(due, vec![second, other]);

        let won = store
            .call(|c| conversations::claim(c, "c1", "alice", 3))
            .await
            .unwrap();
        let lost = store
            .call(|c| conversations::claim(c, "c1", "bob", 3))
            .await
            .unwrap();
        assert!(won && !lost);
        let c1 = store
            .call(|c| conversations::get(c, "c1"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c1.agent.as_deref(), Some("alice"));
    }

    /// A message is claimed once: a second pass (or a stale list) cannot send it again, a retry
    /// is not claimed before its backoff, a stale claim cannot record a result, and a claim a
    /// crash left open is released at start.
    #[tokio::test]
    async fn an_outbound_message_is_claimed_once_per_attempt() {
        let (_dir, store) = open_temp();
        let id = store
            .call(|c| {
                conversations::insert(c, &conversation("c1"))?;
                messages::insert(c, outbound("c1", "one"), 1)
            })
            .await
            .unwrap();
        let first = store
            .call(|c| messages::claim_due(c, 10, 10, 1000))
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].attempts, 1);
        // Another pass, and a claim from a list read before the first claim: both lose.
        assert!(
            store
                .call(|c| messages::claim_due(c, 20, 10, 1000))
                .await
                .unwrap()
                .is_empty()
        );
        let (i, stale) = (id.clone(), id.clone());
        assert!(
            !store
                .call(move |c| messages::claim(c, &stale, 0, 20, 1000))
                .await
                .unwrap()
        );
        // Attempt 1 failed: due again at 500, not before.
        store
            .call(move |c| messages::schedule_retry(c, &i, "transient: 503", 1, 500, 30, false))
            .await
            .unwrap();
        assert!(
            store
                .call(|c| messages::claim_due(c, 499, 10, 1000))
                .await
                .unwrap()
                .is_empty()
        );
        let second = store
            .call(|c| messages::claim_due(c, 500, 10, 1000))
            .await
            .unwrap();
        assert_eq!(second[0].attempts, 2);
        // The holder of attempt 1 cannot record anything any more.
        let i = id.clone();
        store
            .call(move |c| messages::mark_sent(c, &i, "late", 1, 510))
            .await
            .unwrap();
        let i = id.clone();
        let m = store
            .call(move |c| messages::get(c, &i))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((m.status, m.platform_id), (MessageStatus::Sending, None));
        // A crash leaves the claim open; the next start releases it, attempts kept.
        assert_eq!(
            store
                .call(|c| messages::release_all_claims(c, 600))
                .await
                .unwrap(),
            1
        );
        let third = store
            .call(|c| messages::claim_due(c, 600, 10, 1000))
            .await
            .unwrap();
        assert_eq!(third[0].attempts, 3);
    }
}
