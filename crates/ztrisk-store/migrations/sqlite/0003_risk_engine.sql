-- The risk engine: users, ingested event ids, risk events, and integrations.
-- High-volume tables refer to accounts by their integer rowid (account_key) to stay small.

CREATE TABLE users (
    key                INTEGER PRIMARY KEY,
    account_key        INTEGER NOT NULL,        -- accounts.rowid
    user_id            TEXT NOT NULL,           -- UUID, the API's user id
    email              TEXT NOT NULL,           -- lowercased
    name               TEXT NOT NULL,
    last_reset_at      INTEGER,                 -- unix ms
    risk_rank          INTEGER NOT NULL DEFAULT 0,  -- max level since reset: 0 none, 1 low, 2 medium, 3 high
    risk_event_count   INTEGER NOT NULL DEFAULT 0,  -- risk events since reset
    last_risk_event_at INTEGER,                 -- newest risk event time since reset
    UNIQUE (account_key, email),
    UNIQUE (account_key, user_id)
) STRICT;

-- Detector state apart from the user row: it changes with most logins, and narrow rows keep
-- the pages an ingest batch dirties (and writes to the WAL) few.
CREATE TABLE user_states (
    user_key  INTEGER PRIMARY KEY,              -- users.key
    state     BLOB NOT NULL                     -- ztrisk_core::detect::UserState, encoded
) STRICT;

-- One index per summary order; only scored users are indexed.
CREATE INDEX users_by_level ON users (account_key, risk_rank, last_risk_event_at) WHERE risk_event_count > 0;
CREATE INDEX users_by_time ON users (account_key, last_risk_event_at) WHERE risk_event_count > 0;
CREATE INDEX users_by_count ON users (account_key, risk_event_count, last_risk_event_at) WHERE risk_event_count > 0;

-- Number of scored users per account, kept so paging never counts a million rows.
CREATE TABLE account_stats (
    account_key   INTEGER PRIMARY KEY,
    scored_users  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Ids of ingested events, for idempotency. Raw events are not kept (that is the SIEM's job):
-- their effect is, as detector state and risk events, committed in the same transaction.
-- Keyed by event time first so that a batch of new events appends to the end of the index
-- instead of dirtying pages all over it: a retried event (same id, same timestamp) is
-- recognised; an id reused with another timestamp counts as a new event.
CREATE TABLE event_ids (
    account_key  INTEGER NOT NULL,
    ts           INTEGER NOT NULL,              -- event time, unix ms
    id_hash      BLOB NOT NULL,                 -- first 16 bytes of SHA-256 of the client's id
    PRIMARY KEY (account_key, ts, id_hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE risk_events (
    key          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL,                 -- UUID
    account_key  INTEGER NOT NULL,
    user_key     INTEGER NOT NULL,
    behavior_id  TEXT NOT NULL,
    risk_rank    INTEGER NOT NULL,              -- 1 low, 2 medium, 3 high: fixed when detected
    ts           INTEGER NOT NULL,              -- time of the event that completed the detection
    detected_at  INTEGER NOT NULL,              -- when ztrisk detected it (compared with resets)
    details      TEXT NOT NULL                  -- JSON evidence
) STRICT;
CREATE INDEX risk_events_by_user ON risk_events (user_key, detected_at);

CREATE TABLE integrations (
    id                TEXT PRIMARY KEY,         -- UUID
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    integration_type  TEXT NOT NULL,
    tenant_url        TEXT NOT NULL,
    reference_id      TEXT NOT NULL DEFAULT '',
    active            INTEGER NOT NULL,
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX integrations_by_account ON integrations (account_id, created_at);
CREATE UNIQUE INDEX integrations_by_reference ON integrations (account_id, reference_id) WHERE reference_id <> '';
