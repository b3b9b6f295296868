//! The database schema, created on first start and upgraded in place by version number.

use rusqlite::Connection;

/// Each entry upgrades the schema from its index to the next version; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE inbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    integration  TEXT NOT NULL,
    kind         TEXT NOT NULL,            -- message | receipt | typing | read
    dedupe_key   TEXT NOT NULL,            -- the platform's id for the event
    customer_id  TEXT NOT NULL,
    event        TEXT NOT NULL,            -- the normalized event as JSON
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    UNIQUE (integration, kind, dedupe_key)
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE processed_at IS NULL;

CREATE TABLE conversations (
    id               TEXT PRIMARY KEY,
    integration      TEXT NOT NULL,
    customer_id      TEXT NOT NULL,
    customer         TEXT NOT NULL,        -- the latest profile, JSON
    state            TEXT NOT NULL,        -- flow | queued | assigned | ended
    flow             TEXT,
    flow_version     INTEGER,
    flow_state       TEXT,                 -- the engine's state, JSON
    queue            TEXT,
    priority         INTEGER NOT NULL DEFAULT 0,
    skills           TEXT NOT NULL DEFAULT '[]',
    agent            TEXT,
    last_agent       TEXT,
    participant_data TEXT NOT NULL DEFAULT '{}',
    queued_at        INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_customer_at INTEGER NOT NULL
);
CREATE INDEX conversations_customer ON conversations (integration, customer_id, last_customer_at);
CREATE INDEX conversations_queue ON conversations (queue, state, queued_at);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation    TEXT NOT NULL REFERENCES conversations (id),
    direction       TEXT NOT NULL,         -- inbound | outbound
    author          TEXT NOT NULL,         -- customer | bot | agent
    agent           TEXT,
    text            TEXT,
    attachments     TEXT NOT NULL DEFAULT '[]',
    quick_replies   TEXT NOT NULL DEFAULT '[]',
    quick_reply     TEXT,                  -- the payload the customer tapped (inbound)
    platform_id     TEXT,
    in_reply_to     TEXT,
    status          TEXT NOT NULL,         -- received | pending | sent | delivered | read | failed
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation, created_at);
CREATE INDEX messages_outbox ON messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX messages_platform ON messages (platform_id) WHERE platform_id IS NOT NULL;

CREATE TABLE wrapups (
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    code         TEXT NOT NULL,
    notes        TEXT,
    created_at   INTEGER NOT NULL
);

CREATE TABLE flow_versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    hash       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    presence       TEXT NOT NULL,
    presence_since INTEGER NOT NULL
);
"#,
    r#"
-- Channels: message kinds, templates, daily caps, deauthorization, integrations set by admins.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'direct'; -- inbound: direct | mention | like | postback | reaction
ALTER TABLE messages ADD COLUMN template TEXT;                        -- outbound template message, JSON
ALTER TABLE messages ADD COLUMN reaction TEXT;
ALTER TABLE messages ADD COLUMN reply_to TEXT;                        -- inbound: the platform id it refers to
ALTER TABLE conversations ADD COLUMN last_customer_written_at INTEGER; -- platform time of the customer's latest message
ALTER TABLE conversations ADD COLUMN flow_timeout_at INTEGER;           -- when a waiting `ask` times out
ALTER TABLE conversations ADD COLUMN language TEXT;                     -- from the transfer
ALTER TABLE conversations ADD COLUMN preferred_agents TEXT NOT NULL DEFAULT '[]';
CREATE INDEX conversations_timeouts ON conversations (flow_timeout_at) WHERE flow_timeout_at IS NOT NULL;
ALTER TABLE conversations ADD COLUMN inactivity_warned_at INTEGER;     -- the inactivity warning went out
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;

-- ACD: offers to agents, and when each agent last became free (longest-idle routing).
CREATE TABLE offers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    offered_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    state        TEXT NOT NULL              -- offered | accepted | declined | timeout | withdrawn
);
CREATE INDEX offers_open ON offers (expires_at) WHERE state = 'offered';
CREATE INDEX offers_conversation ON offers (conversation, state);
ALTER TABLE agents ADD COLUMN idle_since INTEGER;

-- Plugin components published through the admin API (or first loaded from the plugins folder),
-- every version kept; the active one serves.
CREATE TABLE plugin_versions (
    name       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    world      TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE TABLE plugin_active (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE canned_responses (
    id    TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text  TEXT NOT NULL
);

CREATE TABLE content_filters (
    id      TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,                  -- word | regex
    pattern TEXT NOT NULL
);

-- The version new conversations of a flow start on (the newest, unless an admin rolled back).
CREATE TABLE flow_active (
    name    TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

CREATE TABLE daily_sends (
    integration TEXT NOT NULL,
    day         TEXT NOT NULL,                 -- UTC date, YYYY-MM-DD
    count       INTEGER NOT NULL,
    PRIMARY KEY (integration, day)
);

CREATE TABLE integration_status (
    integration     TEXT PRIMARY KEY,
    deauthorized_at INTEGER,
    reason          TEXT
);

CREATE TABLE integrations (
    id         TEXT PRIMARY KEY,
    config     TEXT NOT NULL,                  -- the integration as JSON, set through the admin API
    updated_at INTEGER NOT NULL
);
"#,
    r#"
-- Outbound claims: a sender moves a message from `pending` to `sending` (counting the attempt)
-- before its request, so no other pass or worker sends it too; `claimed_until` is when an
-- unfinished claim (a crash mid-send) may be taken again.
ALTER TABLE messages ADD COLUMN claimed_until INTEGER;
CREATE INDEX messages_sending ON messages (claimed_until) WHERE status = 'sending';
"#,
    r#"
-- Routing reads the best waiting interactions of a queue through an index, in order of waiting
-- time weighted by priority (a priority point is worth a minute: rules::routing), instead of
-- every waiting conversation; what agents hold is counted through an index too.
CREATE INDEX conversations_routing ON conversations (queue, queued_at - priority * 60000)
    WHERE state = 'queued';
CREATE INDEX conversations_assigned ON conversations (agent) WHERE state = 'assigned';

-- Gauges kept up to date by triggers, so reading them never scans a table.
CREATE TABLE conversation_counts (
    state TEXT NOT NULL,
    queue TEXT NOT NULL,                    -- '' when none
    n     INTEGER NOT NULL,
    PRIMARY KEY (state, queue)
);
INSERT INTO conversation_counts (state, queue, n)
    SELECT state, COALESCE(queue, ''), COUNT(*) FROM conversations GROUP BY state, COALESCE(queue, '');
CREATE TRIGGER conversations_counted_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversation_counts (state, queue, n) VALUES (NEW.state, COALESCE(NEW.queue, ''), 1)
        ON CONFLICT (state, queue) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER conversations_counted_update AFTER UPDATE OF state, queue ON conversations
    WHEN OLD.state IS NOT NEW.state OR OLD.queue IS NOT NEW.queue BEGIN
    UPDATE conversation_counts SET n = n - 1 WHERE state = OLD.state AND queue = COALESCE(OLD.queue, '');
    INSERT INTO conversation_counts (state, queue, n) VALUES (NEW.state, COALESCE(NEW.queue, ''), 1)
        ON CONFLICT (state, queue) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER conversations_counted_delete AFTER DELETE ON conversations BEGIN
    UPDATE conversation_counts SET n = n - 1 WHERE state = OLD.state AND queue = COALESCE(OLD.queue, '');
END;

CREATE TABLE outbox_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL                     -- outbound messages pending or being sent
);
INSERT INTO outbox_count (id, n)
    SELECT 1, COUNT(*) FROM messages WHERE status IN ('pending', 'sending');
CREATE TRIGGER outbox_counted_insert AFTER INSERT ON messages
    WHEN NEW.status IN ('pending', 'sending') BEGIN
    UPDATE outbox_count SET n = n + 1 WHERE id = 1;
END;
CREATE TRIGGER outbox_counted_update AFTER UPDATE OF status ON messages
    WHEN (OLD.status IN ('pending', 'sending')) <> (NEW.status IN ('pending', 'sending')) BEGIN
    UPDATE outbox_count SET n = n + CASE WHEN NEW.status IN ('pending', 'sending') THEN 1 ELSE -1 END
        WHERE id = 1;
END;
CREATE TRIGGER outbox_counted_delete AFTER DELETE ON messages
    WHEN OLD.status IN ('pending', 'sending') BEGIN
    UPDATE outbox_count SET n = n - 1 WHERE id = 1;
END;
"#,
    r#"
-- Customer leases: the holder of a customer's lease alone processes the customer's events and
-- timeouts, in order; every write names the lease's epoch (fencing), and epochs are never
-- reused (`lease_epoch` only grows).
CREATE TABLE customer_leases (
    integration TEXT NOT NULL,
    customer    TEXT NOT NULL,
    holder      TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    until       INTEGER NOT NULL,
    PRIMARY KEY (integration, customer)
);
CREATE INDEX customer_leases_holder ON customer_leases (holder);
CREATE TABLE lease_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO lease_epoch (id, n) VALUES (1, 0);
CREATE INDEX inbox_customer_pending ON inbox (integration, customer_id, seq)
    WHERE processed_at IS NULL;

-- Each change to a conversation bumps its version; a flow turn is stored only over the version
-- it ran from, so two turns never both apply.
ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
"#,
    r#"
-- Agents' transfers: an interaction handed to a queue, or to an agent, with a note. Routing
-- counts the transferring agent as having refused it (they are offered it again only when
-- nobody else can take it) and offers it to the agent named while they are available.
CREATE TABLE transfers (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    from_agent   TEXT NOT NULL,
    to_queue     TEXT NOT NULL,
    to_agent     TEXT,
    note         TEXT,
    at           INTEGER NOT NULL
);
CREATE INDEX transfers_conversation ON transfers (conversation, at);

-- Files agents upload to send; platforms fetch them by their unguessable id.
CREATE TABLE attachments (
    id           TEXT PRIMARY KEY,
    conversation TEXT NOT NULL REFERENCES conversations (id),
    agent        TEXT NOT NULL,
    filename     TEXT NOT NULL,
    mime_type    TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);

-- Search reads conversations newest first by when they started.
CREATE INDEX conversations_created ON conversations (created_at);

-- What each queue saw, by hour, kept by triggers so supervisors' figures never scan a table:
-- interactions that entered it (`offered`), that an agent accepted (`answered`) and that left
-- it unanswered (`abandoned`); answered and abandoned ones by the seconds they waited (rounded
-- up), so a service level can be counted for any threshold.
CREATE TABLE queue_activity (
    queue  TEXT NOT NULL,
    hour   INTEGER NOT NULL,                -- milliseconds since the epoch / 3,600,000
    kind   TEXT NOT NULL,                   -- offered | answered | abandoned
    wait_s INTEGER NOT NULL,                -- 0 for offered
    n      INTEGER NOT NULL,
    PRIMARY KEY (queue, hour, kind, wait_s)
);
CREATE TRIGGER queue_activity_entered_insert AFTER INSERT ON conversations
    WHEN NEW.state = 'queued' AND NEW.queue IS NOT NULL BEGIN
    INSERT INTO queue_activity (queue, hour, kind, wait_s, n)
        VALUES (NEW.queue, COALESCE(NEW.queued_at, NEW.updated_at) / 3600000, 'offered', 0, 1)
        ON CONFLICT (queue, hour, kind, wait_s) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER queue_activity_entered AFTER UPDATE OF state, queue, queued_at ON conversations
    WHEN NEW.state = 'queued' AND NEW.queue IS NOT NULL
        AND (OLD.state IS NOT 'queued' OR OLD.queue IS NOT NEW.queue
             OR OLD.queued_at IS NOT NEW.queued_at) BEGIN
    INSERT INTO queue_activity (queue, hour, kind, wait_s, n)
        VALUES (NEW.queue, COALESCE(NEW.queued_at, NEW.updated_at) / 3600000, 'offered', 0, 1)
        ON CONFLICT (queue, hour, kind, wait_s) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER queue_activity_left AFTER UPDATE OF state ON conversations
    WHEN OLD.state = 'queued' AND NEW.state IS NOT 'queued' AND OLD.queue IS NOT NULL BEGIN
    INSERT INTO queue_activity (queue, hour, kind, wait_s, n)
        VALUES (OLD.queue, NEW.updated_at / 3600000,
                CASE WHEN NEW.state = 'assigned' THEN 'answered' ELSE 'abandoned' END,
                MAX(0, (NEW.updated_at - COALESCE(OLD.queued_at, NEW.updated_at) + 999) / 1000), 1)
        ON CONFLICT (queue, hour, kind, wait_s) DO UPDATE SET n = n + 1;
END;
"#,
    r#"
-- What admins switch on schedule groups at run time, over the configuration.
CREATE TABLE schedule_overrides (
    group_id   TEXT PRIMARY KEY,
    emergency  INTEGER,                      -- NULL: as the configuration says
    holidays   TEXT NOT NULL DEFAULT '[]',   -- dates admins added, JSON
    updated_at INTEGER NOT NULL
);
"#,
    r#"
-- The data's lifecycle (store/lifecycle.rs): customers' data erased on request, the audit log of
-- admin actions, and the indexes erasure and retention read through.
CREATE TABLE erasures (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    integration   TEXT NOT NULL,
    customer      TEXT NOT NULL,
    erased_at     INTEGER NOT NULL,
    erased_by     TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    messages      INTEGER NOT NULL,
    inbox_events  INTEGER NOT NULL,
    attachments   INTEGER NOT NULL
);
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    method TEXT NOT NULL,
    route  TEXT NOT NULL,                    -- the pattern, e.g. /admin/v1/flows/{name}
    target TEXT NOT NULL,                    -- the path called
    status INTEGER NOT NULL
);
CREATE INDEX inbox_customer ON inbox (integration, customer_id);
CREATE INDEX inbox_processed ON inbox (processed_at) WHERE processed_at IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX attachments_conversation ON attachments (conversation);
CREATE INDEX wrapups_conversation ON wrapups (conversation);
"#,
    r#"
-- Agents and supervisors admins add through the API; only their token's Argon2 hash is kept.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    role       TEXT NOT NULL,                -- agent | supervisor
    profile    TEXT NOT NULL,                -- name, queues, skills... as JSON
    token_hash TEXT NOT NULL,                -- PHC string
    updated_at INTEGER NOT NULL
);
-- Short-lived, single-use tickets that open an event stream (browsers' EventSource sends no
-- header); by the SHA-256 of the ticket, never the ticket.
CREATE TABLE stream_tickets (
    ticket_sha256 TEXT PRIMARY KEY,
    role          TEXT NOT NULL,             -- agent | supervisor | admin
    member        TEXT NOT NULL,             -- the agent's or supervisor's id; '' for the admin
    expires_at    INTEGER NOT NULL
);
"#,
];

pub fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if version > known {
        anyhow::bail!(
            "the database has schema version {version}, newer than this host knows ({known}); use a newer switchboard"
        );
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))?;
    }
    Ok(())
}
