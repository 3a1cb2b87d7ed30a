-- The dashboard (issue 14): counters it reads instead of counting rows, and its sign-in
-- sessions. Same tables and columns as SQLite's 0008_dashboard. The counters are derived data,
-- kept by triggers so that no write of users or risk_events (ingest, reset, expiry,
-- confirmation, import, or any later one, on any replica) can miss them; they are not in the
-- dump, and an import rebuilds them as its rows go in.
--
-- Statement triggers with transition tables, one aggregated upsert per statement: an ingest
-- batch that changes the level of 500 users adds to at most three counter rows once, instead
-- of updating the same hot row 500 times (500 dead tuples, and the row locked from the first
-- of them to the commit).

-- Scored users (risk_event_count > 0) per account and level (risk_rank), as the summary
-- counts them. Rows that drop to 0 stay. Free space on each page keeps the updates HOT.
CREATE TABLE level_counts (
    account_key  bigint NOT NULL,
    risk_rank    bigint NOT NULL,
    users        bigint NOT NULL,
    PRIMARY KEY (account_key, risk_rank)
) WITH (fillfactor = 50);

-- Risk events that count (not monitor-only) per account, UTC day of their time (`ts`) and
-- level.
CREATE TABLE risk_daily (
    account_key  bigint NOT NULL,
    day          bigint NOT NULL,               -- floor(ts / 86400000): days since 1970-01-01
    risk_rank    bigint NOT NULL,
    events       bigint NOT NULL,
    PRIMARY KEY (account_key, day, risk_rank)
) WITH (fillfactor = 50);

-- Adds net changes (parallel arrays) to level_counts. Deadlocks: a transaction that changes
-- an account's counts locks all of that account's level rows at once, in key order, with its
-- first such statement (rows whose change is 0 are locked, not written). Without that, the
-- expiry sweep (one statement per user: high -> medium locks 2 and 3, then medium -> low locks
-- 1) and an ingest batch (low and high: 1 then 3) could each hold what the other waits for.
CREATE FUNCTION level_counts_add(accounts bigint[], ranks bigint[], deltas bigint[])
RETURNS void LANGUAGE sql AS $$
    INSERT INTO level_counts AS c (account_key, risk_rank, users)
    SELECT account_key, risk_rank, sum(users)::bigint
    FROM (
        SELECT d.account_key, d.risk_rank, d.users
        FROM unnest(accounts, ranks, deltas) AS d(account_key, risk_rank, users)
        UNION ALL
        SELECT DISTINCT a.account_key, r.rank, 0
        FROM unnest(accounts) AS a(account_key), generate_series(1, 3) AS r(rank)
    ) AS x
    GROUP BY account_key, risk_rank
    ORDER BY account_key, risk_rank
    ON CONFLICT (account_key, risk_rank) DO UPDATE SET users = c.users + excluded.users
    WHERE excluded.users <> 0
$$;

-- `old_users` / `new_users` are the statement's transition tables (which exist depends on
-- TG_OP). An update adds -1 for each row as it was and +1 for each row as it is: a user whose
-- (account, level, scored) did not change nets 0 and touches nothing.
CREATE FUNCTION users_level_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    accounts bigint[];
    ranks bigint[];
    deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(account_key), array_agg(risk_rank), array_agg(n)
        INTO accounts, ranks, deltas
        FROM (SELECT account_key, risk_rank, count(*) AS n FROM new_users
              WHERE risk_event_count > 0 GROUP BY account_key, risk_rank) AS d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(account_key), array_agg(risk_rank), array_agg(n)
        INTO accounts, ranks, deltas
        FROM (SELECT account_key, risk_rank, -count(*) AS n FROM old_users
              WHERE risk_event_count > 0 GROUP BY account_key, risk_rank) AS d;
    ELSE
        SELECT array_agg(account_key), array_agg(risk_rank), array_agg(n)
        INTO accounts, ranks, deltas
        FROM (SELECT account_key, risk_rank, sum(d) AS n
              FROM (SELECT account_key, risk_rank, -1 AS d FROM old_users
                    WHERE risk_event_count > 0
                    UNION ALL
                    SELECT account_key, risk_rank, 1 FROM new_users
                    WHERE risk_event_count > 0) AS x
              GROUP BY account_key, risk_rank
              HAVING sum(d) <> 0) AS d;
    END IF;
    IF accounts IS NOT NULL THEN
        PERFORM level_counts_add(accounts, ranks, deltas);
    END IF;
    RETURN NULL;
END
$$;

-- The same for risk_daily, by UTC day of `ts` (`x / d - (x % d < 0)`: floor division for
-- negative times too). Every transaction inserts risk events with one statement (ingest,
-- confirmation), so sorting each statement's upserts is enough to never deadlock.
CREATE FUNCTION risk_events_daily() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO risk_daily AS c (account_key, day, risk_rank, events)
        SELECT account_key, ts / 86400000 - (ts % 86400000 < 0)::int, risk_rank, count(*)
        FROM new_events WHERE counts
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_key, day, risk_rank) DO UPDATE SET events = c.events + excluded.events;
    ELSIF TG_OP = 'DELETE' THEN
        -- Nothing deletes or updates risk events today; this and the update below keep the
        -- counters right if that changes.
        UPDATE risk_daily AS c SET events = c.events - d.n
        FROM (SELECT account_key, ts / 86400000 - (ts % 86400000 < 0)::int AS day, risk_rank,
                     count(*) AS n
              FROM old_events WHERE counts GROUP BY 1, 2, 3) AS d
        WHERE c.account_key = d.account_key AND c.day = d.day AND c.risk_rank = d.risk_rank;
    ELSE
        INSERT INTO risk_daily AS c (account_key, day, risk_rank, events)
        SELECT account_key, day, risk_rank, sum(d)
        FROM (SELECT account_key, ts / 86400000 - (ts % 86400000 < 0)::int AS day, risk_rank,
                     -1 AS d
              FROM old_events WHERE counts
              UNION ALL
              SELECT account_key, ts / 86400000 - (ts % 86400000 < 0)::int, risk_rank, 1
              FROM new_events WHERE counts) AS x
        GROUP BY 1, 2, 3 HAVING sum(d) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (account_key, day, risk_rank) DO UPDATE SET events = c.events + excluded.events;
    END IF;
    RETURN NULL;
END
$$;

-- Created before the backfill: CREATE TRIGGER locks the table against writes until this
-- migration commits, so the backfill below sees every row written before, and every row
-- written after fires the triggers (replicas still running the previous version included).
CREATE TRIGGER users_level_counts_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION users_level_counts();
CREATE TRIGGER users_level_counts_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_users NEW TABLE AS new_users
    FOR EACH STATEMENT EXECUTE FUNCTION users_level_counts();
CREATE TRIGGER users_level_counts_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_users
    FOR EACH STATEMENT EXECUTE FUNCTION users_level_counts();

CREATE TRIGGER risk_events_daily_insert AFTER INSERT ON risk_events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION risk_events_daily();
CREATE TRIGGER risk_events_daily_update AFTER UPDATE ON risk_events
    REFERENCING OLD TABLE AS old_events NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION risk_events_daily();
CREATE TRIGGER risk_events_daily_delete AFTER DELETE ON risk_events
    REFERENCING OLD TABLE AS old_events
    FOR EACH STATEMENT EXECUTE FUNCTION risk_events_daily();

-- What was there before this migration.
INSERT INTO level_counts (account_key, risk_rank, users)
SELECT account_key, risk_rank, count(*) FROM users WHERE risk_event_count > 0
GROUP BY account_key, risk_rank;

INSERT INTO risk_daily (account_key, day, risk_rank, events)
SELECT account_key, ts / 86400000 - (ts % 86400000 < 0)::int, risk_rank, count(*)
FROM risk_events WHERE counts
GROUP BY 1, 2, 3;

-- Dashboard sign-in sessions, by the SHA-256 of their id (the cookie's value is never
-- stored), with the credential they were opened with, by hash too. Ephemeral: not in the dump.
CREATE TABLE dashboard_sessions (
    id_hash      bytea PRIMARY KEY,
    kind         text NOT NULL,                 -- token | api_key
    secret_hash  bytea,                         -- token: the API token's secret hash
    email        text COLLATE "C",              -- api_key: the key owner's email (lowercased)
    key_hash     bytea,                         -- api_key: the global API key's hash
    created_at   bigint NOT NULL,               -- unix ms
    expires_at   bigint NOT NULL,               -- unix ms: gone from then on
    CHECK ((kind = 'token' AND secret_hash IS NOT NULL)
        OR (kind = 'api_key' AND email IS NOT NULL AND key_hash IS NOT NULL))
);
CREATE INDEX dashboard_sessions_by_expiry ON dashboard_sessions (expires_at);
