-- The dashboard (issue 14): counters it reads instead of counting rows, and its sign-in
-- sessions. The counters are derived data, kept by triggers so that no write of users or
-- risk_events (ingest, reset, expiry, confirmation, import, or any later one) can miss them;
-- they are not in the dump, and an import rebuilds them as its rows go in.

-- Scored users (risk_event_count > 0) per account and level (risk_rank), as the summary
-- counts them. Rows that drop to 0 stay.
CREATE TABLE level_counts (
    account_key  INTEGER NOT NULL,
    risk_rank    INTEGER NOT NULL,
    users        INTEGER NOT NULL,
    PRIMARY KEY (account_key, risk_rank)
) STRICT, WITHOUT ROWID;

-- Risk events that count (counts = 1: not monitor-only) per account, UTC day of their time
-- (`ts`) and level.
CREATE TABLE risk_daily (
    account_key  INTEGER NOT NULL,
    day          INTEGER NOT NULL,              -- floor(ts / 86400000): days since 1970-01-01
    risk_rank    INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    PRIMARY KEY (account_key, day, risk_rank)
) STRICT, WITHOUT ROWID;

-- Row triggers: SQLite has no statement triggers, and its single writer makes a row trigger
-- cheap (no lock to wait for). The WHEN clauses keep the common write (a scored user's count
-- or time moving at the same level) from doing anything. `x / d - (x % d < 0)` is floor
-- division for negative times too (`/` truncates).
--
-- No upsert in the bodies: SQLite compiles an upsert's DO UPDATE as able to abort midway,
-- which makes every statement firing the trigger keep a statement journal, a copy of each
-- page it touches, per row (in the writer's per-write savepoint it piles up and spills to a
-- temporary file: ingest ran at less than half its speed). A missing row is added with 0,
-- then incremented; together with `OR FAIL` on the ingest's statements (see
-- sqlite/engine.rs), nothing is journalled per statement.

CREATE TRIGGER users_level_counts_insert AFTER INSERT ON users
WHEN NEW.risk_event_count > 0
BEGIN
    INSERT INTO level_counts (account_key, risk_rank, users)
    SELECT NEW.account_key, NEW.risk_rank, 0
    WHERE NOT EXISTS (SELECT 1 FROM level_counts
                      WHERE account_key = NEW.account_key AND risk_rank = NEW.risk_rank);
    UPDATE level_counts SET users = users + 1
    WHERE account_key = NEW.account_key AND risk_rank = NEW.risk_rank;
END;

CREATE TRIGGER users_level_counts_update
AFTER UPDATE OF account_key, risk_rank, risk_event_count ON users
WHEN (OLD.risk_event_count > 0) <> (NEW.risk_event_count > 0)
  OR (NEW.risk_event_count > 0
      AND (OLD.risk_rank <> NEW.risk_rank OR OLD.account_key <> NEW.account_key))
BEGIN
    UPDATE level_counts SET users = users - 1
    WHERE OLD.risk_event_count > 0
      AND account_key = OLD.account_key AND risk_rank = OLD.risk_rank;
    INSERT INTO level_counts (account_key, risk_rank, users)
    SELECT NEW.account_key, NEW.risk_rank, 0
    WHERE NEW.risk_event_count > 0
      AND NOT EXISTS (SELECT 1 FROM level_counts
                      WHERE account_key = NEW.account_key AND risk_rank = NEW.risk_rank);
    UPDATE level_counts SET users = users + 1
    WHERE NEW.risk_event_count > 0
      AND account_key = NEW.account_key AND risk_rank = NEW.risk_rank;
END;

CREATE TRIGGER users_level_counts_delete AFTER DELETE ON users
WHEN OLD.risk_event_count > 0
BEGIN
    UPDATE level_counts SET users = users - 1
    WHERE account_key = OLD.account_key AND risk_rank = OLD.risk_rank;
END;

CREATE TRIGGER risk_events_daily_insert AFTER INSERT ON risk_events
WHEN NEW.counts <> 0
BEGIN
    INSERT INTO risk_daily (account_key, day, risk_rank, events)
    SELECT NEW.account_key, NEW.ts / 86400000 - (NEW.ts % 86400000 < 0), NEW.risk_rank, 0
    WHERE NOT EXISTS (SELECT 1 FROM risk_daily
                      WHERE account_key = NEW.account_key
                        AND day = NEW.ts / 86400000 - (NEW.ts % 86400000 < 0)
                        AND risk_rank = NEW.risk_rank);
    UPDATE risk_daily SET events = events + 1
    WHERE account_key = NEW.account_key AND day = NEW.ts / 86400000 - (NEW.ts % 86400000 < 0)
      AND risk_rank = NEW.risk_rank;
END;

-- Nothing updates or deletes risk events today; these keep the counters right if that changes.
CREATE TRIGGER risk_events_daily_update
AFTER UPDATE OF account_key, ts, risk_rank, counts ON risk_events
WHEN (OLD.counts <> 0) <> (NEW.counts <> 0)
  OR (NEW.counts <> 0 AND (OLD.account_key <> NEW.account_key OR OLD.risk_rank <> NEW.risk_rank
      OR OLD.ts / 86400000 - (OLD.ts % 86400000 < 0) <> NEW.ts / 86400000 - (NEW.ts % 86400000 < 0)))
BEGIN
    UPDATE risk_daily SET events = events - 1
    WHERE OLD.counts <> 0 AND account_key = OLD.account_key
      AND day = OLD.ts / 86400000 - (OLD.ts % 86400000 < 0) AND risk_rank = OLD.risk_rank;
    INSERT INTO risk_daily (account_key, day, risk_rank, events)
    SELECT NEW.account_key, NEW.ts / 86400000 - (NEW.ts % 86400000 < 0), NEW.risk_rank, 0
    WHERE NEW.counts <> 0
      AND NOT EXISTS (SELECT 1 FROM risk_daily
                      WHERE account_key = NEW.account_key
                        AND day = NEW.ts / 86400000 - (NEW.ts % 86400000 < 0)
                        AND risk_rank = NEW.risk_rank);
    UPDATE risk_daily SET events = events + 1
    WHERE NEW.counts <> 0 AND account_key = NEW.account_key
      AND day = NEW.ts / 86400000 - (NEW.ts % 86400000 < 0) AND risk_rank = NEW.risk_rank;
END;

CREATE TRIGGER risk_events_daily_delete AFTER DELETE ON risk_events
WHEN OLD.counts <> 0
BEGIN
    UPDATE risk_daily SET events = events - 1
    WHERE account_key = OLD.account_key
      AND day = OLD.ts / 86400000 - (OLD.ts % 86400000 < 0) AND risk_rank = OLD.risk_rank;
END;

-- What was there before this migration.
INSERT INTO level_counts (account_key, risk_rank, users)
SELECT account_key, risk_rank, count(*) FROM users WHERE risk_event_count > 0
GROUP BY account_key, risk_rank;

INSERT INTO risk_daily (account_key, day, risk_rank, events)
SELECT account_key, ts / 86400000 - (ts % 86400000 < 0), risk_rank, count(*)
FROM risk_events WHERE counts <> 0
GROUP BY 1, 2, 3;

-- Dashboard sign-in sessions, by the SHA-256 of their id (the cookie's value is never
-- stored), with the credential they were opened with, by hash too. Ephemeral: not in the dump.
CREATE TABLE dashboard_sessions (
    id_hash      BLOB PRIMARY KEY,
    kind         TEXT NOT NULL,                 -- token | api_key
    secret_hash  BLOB,                          -- token: the API token's secret hash
    email        TEXT,                          -- api_key: the key owner's email (lowercased)
    key_hash     BLOB,                          -- api_key: the global API key's hash
    created_at   INTEGER NOT NULL,              -- unix ms
    expires_at   INTEGER NOT NULL,              -- unix ms: gone from then on
    CHECK ((kind = 'token' AND secret_hash IS NOT NULL)
        OR (kind = 'api_key' AND email IS NOT NULL AND key_hash IS NOT NULL))
) STRICT, WITHOUT ROWID;
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
