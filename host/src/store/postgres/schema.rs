//! The database schema, created on first start and upgraded in place by version number. Hosts
//! starting at once take turns (a session advisory lock), so each migration runs once.

use deadpool_postgres::Pool;

/// The advisory lock key hosts migrate under.
const MIGRATION_LOCK: i64 = 0x5357_4244_0001;

/// Each entry upgrades the schema from its index to the next version; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE inbox (
    seq          BIGSERIAL PRIMARY KEY,
    integration  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    event        TEXT NOT NULL,
    received_at  BIGINT NOT NULL,
    processed_at BIGINT,
    UNIQUE (integration, kind, dedupe_key)
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE processed_at IS NULL;
CREATE INDEX inbox_customer_pending ON inbox (integration, customer_id, seq) WHERE processed_at IS NULL;

CREATE TABLE conversations (
    id                       TEXT PRIMARY KEY,
    rowid                    BIGSERIAL UNIQUE,
    integration              TEXT NOT NULL,
    customer_id              TEXT NOT NULL,
    customer                 TEXT NOT NULL,
    state                    TEXT NOT NULL,
    flow                     TEXT,
    flow_version             BIGINT,
    flow_state               TEXT,
    queue                    TEXT,
    priority                 BIGINT NOT NULL DEFAULT 0,
    skills                   TEXT NOT NULL DEFAULT '[]',
    agent                    TEXT,
    last_agent               TEXT,
    participant_data         TEXT NOT NULL DEFAULT '{}',
    queued_at                BIGINT,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    last_customer_at         BIGINT NOT NULL,
    last_customer_written_at BIGINT,
    flow_timeout_at          BIGINT,
    language                 TEXT,
    preferred_agents         TEXT NOT NULL DEFAULT '[]',
    inactivity_warned_at     BIGINT,
    assigned_at              BIGINT,
    version                  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_customer ON conversations (integration, customer_id, last_customer_at);
CREATE INDEX conversations_timeouts ON conversations (flow_timeout_at) WHERE flow_timeout_at IS NOT NULL;
CREATE INDEX conversations_routing ON conversations (queue, (queued_at - priority * 60000), rowid)
    WHERE state = 'queued';
CREATE INDEX conversations_assigned ON conversations (agent) WHERE state = 'assigned';

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    rowid           BIGSERIAL UNIQUE,
    conversation    TEXT NOT NULL REFERENCES conversations (id),
    direction       TEXT NOT NULL,
    author          TEXT NOT NULL,
    agent           TEXT,
    text            TEXT,
    attachments     TEXT NOT NULL DEFAULT '[]',
    quick_replies   TEXT NOT NULL DEFAULT '[]',
    quick_reply     TEXT,
    platform_id     TEXT,
    in_reply_to     TEXT,
    status          TEXT NOT NULL,
    error           TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    kind            TEXT NOT NULL DEFAULT 'direct',
    template        TEXT,
    reaction        TEXT,
    reply_to        TEXT,
    claimed_until   BIGINT
);
CREATE INDEX messages_conversation ON messages (conversation, created_at, rowid);
CREATE INDEX messages_outbox ON messages (next_attempt_at, rowid) WHERE status = 'pending';
CREATE INDEX messages_sending ON messages (claimed_until) WHERE status = 'sending';
CREATE INDEX messages_unsent ON messages (conversation, rowid) WHERE status IN ('pending', 'sending');
CREATE INDEX messages_platform ON messages (platform_id) WHERE platform_id IS NOT NULL;

CREATE TABLE wrapups (
    id           BIGSERIAL PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    code         TEXT NOT NULL,
    notes        TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX wrapups_conversation ON wrapups (conversation, id);

CREATE TABLE flow_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    source     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE flow_active (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    presence       TEXT NOT NULL,
    presence_since BIGINT NOT NULL,
    idle_since     BIGINT
);

-- Each queued interaction is offered to one agent at a time: at most one open offer per
-- conversation, whichever host routes.
CREATE TABLE offers (
    id           BIGSERIAL PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    offered_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    state        TEXT NOT NULL
);
CREATE UNIQUE INDEX offers_one_open ON offers (conversation) WHERE state = 'offered';
CREATE INDEX offers_open ON offers (expires_at) WHERE state = 'offered';
CREATE INDEX offers_conversation ON offers (conversation, state);

CREATE TABLE plugin_versions (
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    world      TEXT NOT NULL,
    bytes      BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE plugin_active (
    name    TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TABLE canned_responses (
    id    TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text  TEXT NOT NULL
);
CREATE TABLE content_filters (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    pattern TEXT NOT NULL
);

CREATE TABLE daily_sends (
    integration TEXT NOT NULL,
    day         TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (integration, day)
);
CREATE TABLE integration_status (
    integration     TEXT PRIMARY KEY,
    deauthorized_at BIGINT,
    reason          TEXT
);
CREATE TABLE integrations (
    id         TEXT PRIMARY KEY,
    config     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Customer leases: the holder of a customer's lease alone processes the customer's events and
-- timeouts; every write names the lease's epoch (fencing). Epochs come from a sequence, so they
-- are never reused and taking one never waits on another host.
CREATE TABLE customer_leases (
    integration TEXT NOT NULL,
    customer    TEXT NOT NULL,
    holder      TEXT NOT NULL,
    epoch       BIGINT NOT NULL,
    until       BIGINT NOT NULL,
    PRIMARY KEY (integration, customer)
);
CREATE INDEX customer_leases_holder ON customer_leases (holder);
CREATE SEQUENCE lease_epoch;

-- The flow plugins' key-value entries.
CREATE TABLE plugin_kv (
    plugin TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (plugin, key)
);

-- Locked whole by a routing or inactivity pass, so one host at a time runs one (`LOCK TABLE`
-- takes no snapshot: the pass reads what the previous one committed).
CREATE TABLE pass_lock (id INTEGER PRIMARY KEY);

-- Signals too large for a NOTIFY payload, read back by id by every listening host.
CREATE TABLE signals (
    id      BIGSERIAL PRIMARY KEY,
    payload TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
"#,
    r#"
-- Agents' transfers: an interaction handed to a queue, or to an agent, with a note. Routing
-- counts the transferring agent as having refused it (they are offered it again only when
-- nobody else can take it) and offers it to the agent named while they are available.
CREATE TABLE transfers (
    id           BIGSERIAL PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    from_agent   TEXT NOT NULL,
    to_queue     TEXT NOT NULL,
    to_agent     TEXT,
    note         TEXT,
    at           BIGINT NOT NULL
);
CREATE INDEX transfers_conversation ON transfers (conversation, at);

-- Files agents upload to send; platforms fetch them by their unguessable id.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    size         BIGINT NOT NULL,
    bytes        BYTEA NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Search reads conversations newest first by when they started.
CREATE INDEX conversations_created ON conversations (created_at, rowid);

-- What each queue saw, by hour, kept by triggers so supervisors' figures never scan the
-- conversations: interactions that entered it (`offered`), that an agent accepted (`answered`)
-- and that left it unanswered (`abandoned`); answered and abandoned ones by the seconds they
-- waited (rounded up), so a service level can be counted for any threshold. Unlike the embedded
-- engine's counters (one row per queue, hour, kind and wait, incremented), each event is a row
-- of its own: units on several hosts queue interactions at once, and a shared counter row
-- would make every one of them a serialization conflict of the others. Read by (queue, hour).
CREATE TABLE queue_activity (
    id     BIGSERIAL PRIMARY KEY,
    queue  TEXT NOT NULL,
    hour   BIGINT NOT NULL,                 -- milliseconds since the epoch / 3,600,000
    kind   TEXT NOT NULL,                   -- offered | answered | abandoned
    wait_s BIGINT NOT NULL                  -- 0 for offered
);
CREATE INDEX queue_activity_hour ON queue_activity (queue, hour);

CREATE FUNCTION queue_activity_entered() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_activity (queue, hour, kind, wait_s)
        VALUES (NEW.queue, COALESCE(NEW.queued_at, NEW.updated_at) / 3600000, 'offered', 0);
    RETURN NULL;
END $$;
CREATE FUNCTION queue_activity_left() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_activity (queue, hour, kind, wait_s)
        VALUES (OLD.queue, NEW.updated_at / 3600000,
                CASE WHEN NEW.state = 'assigned' THEN 'answered' ELSE 'abandoned' END,
                GREATEST(0, (NEW.updated_at - COALESCE(OLD.queued_at, NEW.updated_at) + 999) / 1000));
    RETURN NULL;
END $$;
CREATE TRIGGER queue_activity_entered_insert AFTER INSERT ON conversations FOR EACH ROW
    WHEN (NEW.state = 'queued' AND NEW.queue IS NOT NULL)
    EXECUTE FUNCTION queue_activity_entered();
CREATE TRIGGER queue_activity_entered AFTER UPDATE ON conversations FOR EACH ROW
    WHEN (NEW.state = 'queued' AND NEW.queue IS NOT NULL
          AND (OLD.state IS DISTINCT FROM 'queued' OR OLD.queue IS DISTINCT FROM NEW.queue
               OR OLD.queued_at IS DISTINCT FROM NEW.queued_at))
    EXECUTE FUNCTION queue_activity_entered();
CREATE TRIGGER queue_activity_left AFTER UPDATE ON conversations FOR EACH ROW
    WHEN (OLD.state = 'queued' AND NEW.state <> 'queued' AND OLD.queue IS NOT NULL)
    EXECUTE FUNCTION queue_activity_left();
"#,
    r#"
-- What admins switch on schedule groups at run time, over the configuration.
CREATE TABLE schedule_overrides (
    group_id   TEXT PRIMARY KEY,
    emergency  BOOLEAN,                      -- NULL: as the configuration says
    holidays   TEXT NOT NULL DEFAULT '[]',   -- dates admins added, JSON
    updated_at BIGINT NOT NULL
);
"#,
    r#"
-- The data's lifecycle (store/lifecycle.rs): customers' data erased on request, the audit log of
-- admin actions, and the indexes erasure and retention read through.
CREATE TABLE erasures (
    id            BIGSERIAL PRIMARY KEY,
    integration   TEXT NOT NULL,
    customer      TEXT NOT NULL,
    erased_at     BIGINT NOT NULL,
    erased_by     TEXT NOT NULL,
    conversations BIGINT NOT NULL,
    messages      BIGINT NOT NULL,
    inbox_events  BIGINT NOT NULL,
    attachments   BIGINT NOT NULL
);
CREATE TABLE audit_log (
    id     BIGSERIAL PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    method TEXT NOT NULL,
    route  TEXT NOT NULL,                    -- the pattern, e.g. /admin/v1/flows/{name}
    target TEXT NOT NULL,                    -- the path called
    status INTEGER NOT NULL
);
CREATE INDEX inbox_customer ON inbox (integration, customer_id);
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at, rowid);
CREATE INDEX attachments_conversation ON attachments (conversation);
"#,
    r#"
-- Agents and supervisors admins add through the API; only their token's Argon2 hash is kept.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    role       TEXT NOT NULL,                -- agent | supervisor
    profile    TEXT NOT NULL,                -- name, queues, skills... as JSON
    token_hash TEXT NOT NULL,                -- PHC string
    updated_at BIGINT NOT NULL
);
-- Short-lived, single-use tickets that open an event stream (browsers' EventSource sends no
-- header); by the SHA-256 of the ticket, never the ticket.
CREATE TABLE stream_tickets (
    ticket_sha256 TEXT PRIMARY KEY,
    role          TEXT NOT NULL,             -- agent | supervisor | admin
    member        TEXT NOT NULL,             -- the agent's or supervisor's id; '' for the admin
    expires_at    BIGINT NOT NULL
);
"#,
    r#"
-- The conversation whose flow wrote a plugin's entry last (NULL: an admin's seed), so erasing a
-- customer's data removes what plugins kept of them.
ALTER TABLE plugin_kv ADD COLUMN conversation TEXT;
CREATE INDEX plugin_kv_conversation ON plugin_kv (conversation) WHERE conversation IS NOT NULL;
"#,
    r#"
-- Conversations per state and queue, for the gauges every host refreshes, without scanning the
-- conversations. Each change of a conversation's state or queue appends its -1 and +1 as rows of
-- their own (like queue_activity: a shared counter row would make every unit that moves a
-- conversation wait on every other's commit); reading folds what was appended into the totals
-- (conversations::count_by_state). Writers are held off while the totals are first counted, so
-- none is counted twice or missed.
LOCK TABLE conversations IN SHARE ROW EXCLUSIVE MODE;
CREATE TABLE conversation_counts (
    state TEXT NOT NULL,
    queue TEXT NOT NULL,                    -- '' when none
    n     BIGINT NOT NULL,
    PRIMARY KEY (state, queue)
);
CREATE TABLE conversation_count_changes (
    id    BIGSERIAL PRIMARY KEY,
    state TEXT NOT NULL,
    queue TEXT NOT NULL,                    -- '' when none
    n     SMALLINT NOT NULL                 -- +1 or -1
);
CREATE FUNCTION conversation_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO conversation_count_changes (state, queue, n)
            VALUES (OLD.state, COALESCE(OLD.queue, ''), -1), (NEW.state, COALESCE(NEW.queue, ''), 1);
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO conversation_count_changes (state, queue, n)
            VALUES (NEW.state, COALESCE(NEW.queue, ''), 1);
    ELSE
        INSERT INTO conversation_count_changes (state, queue, n)
            VALUES (OLD.state, COALESCE(OLD.queue, ''), -1);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER conversations_counted AFTER INSERT OR DELETE ON conversations FOR EACH ROW
    EXECUTE FUNCTION conversation_counted();
CREATE TRIGGER conversations_counted_move AFTER UPDATE OF state, queue ON conversations FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.queue IS DISTINCT FROM NEW.queue)
    EXECUTE FUNCTION conversation_counted();
INSERT INTO conversation_counts (state, queue, n)
    SELECT state, COALESCE(queue, ''), COUNT(*) FROM conversations GROUP BY 1, 2;
"#,
];

/// Creates or upgrades the schema.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    let mut client = pool.get().await?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let result = async {
        client
            .batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let version: Option<i64> = client
            .query_opt("SELECT version FROM schema_version", &[])
            .await?
            .map(|r| r.get(0));
        let version = version.unwrap_or(0);
        let known = MIGRATIONS.len() as i64;
        if version > known {
            anyhow::bail!(
                "the database has schema version {version}, newer than this host knows ({known}); use a newer switchboard"
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = client.transaction().await?;
            tx.batch_execute(sql).await?;
            tx.execute("DELETE FROM schema_version", &[]).await?;
            tx.execute(
                "INSERT INTO schema_version (version) VALUES ($1)",
                &[&(i as i64 + 1)],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }
    .await;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    result
}
