-- The audit log (spec 7): one row per change made with a credential or the CLI, written in
-- the transaction of the change. Never a secret. Rows are only ever added.

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,            -- increasing in the order rows were written
    account_id  TEXT REFERENCES accounts(id),   -- NULL: installation-wide (signing keys)
    at          INTEGER NOT NULL,               -- unix ms
    actor       TEXT NOT NULL,                  -- token:<id> | key:<email> | cli | system
    action      TEXT NOT NULL,                  -- e.g. behaviors.update (ztrisk_types::AuditAction)
    target      TEXT NOT NULL,                  -- the id of what changed
    change      TEXT NOT NULL                   -- JSON: what was set (behaviors: before and after)
) STRICT;

-- An account's log, newest first, with or without an action filter.
CREATE INDEX audit_log_by_account ON audit_log (account_id, at, id);
CREATE INDEX audit_log_by_action ON audit_log (account_id, action, at, id);
