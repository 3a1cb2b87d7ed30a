-- Detection controls (spec 6.1): monitor-only risk events are kept but do not count, and a
-- risk event may expire some days after its detection. A user's next expiry is kept on the
-- user's row, so the sweeper finds the users whose level may drop without scanning events.

ALTER TABLE risk_events ADD COLUMN counts INTEGER NOT NULL DEFAULT 1;  -- 0: monitor-only
ALTER TABLE risk_events ADD COLUMN expires_at INTEGER;                 -- unix ms; NULL: never
ALTER TABLE users ADD COLUMN next_expiry_at INTEGER;                   -- earliest expires_at still counting
CREATE INDEX users_by_next_expiry ON users (next_expiry_at) WHERE next_expiry_at IS NOT NULL;
