-- Per-account behavior configuration. Only behaviors an account has configured have a row;
-- predefined behaviors without one use the catalog defaults.
CREATE TABLE behaviors (
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    behavior_id  TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    risk_level   TEXT NOT NULL CHECK (risk_level IN ('low', 'medium', 'high')),
    settings     TEXT NOT NULL DEFAULT '{}', -- JSON object of the behavior's settings
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (account_id, behavior_id)
) STRICT, WITHOUT ROWID;

-- Every change, kept for audit and so that detection can apply a level from the moment it
-- was set.
CREATE TABLE behavior_changes (
    seq          INTEGER PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    behavior_id  TEXT NOT NULL,
    enabled      INTEGER NOT NULL,
    risk_level   TEXT NOT NULL,
    settings     TEXT NOT NULL,
    changed_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX behavior_changes_by_account ON behavior_changes (account_id, behavior_id, changed_at);
