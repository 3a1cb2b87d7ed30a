-- Accounts, API tokens and global API keys. Secrets are stored only as SHA-256 hashes.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,            -- 32 lowercase hex characters
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL             -- unix milliseconds
) STRICT;

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    secret_hash  BLOB NOT NULL UNIQUE,
    permissions  TEXT NOT NULL,              -- JSON array of permission names
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE TABLE api_token_accounts (
    token_id    TEXT NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, account_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE api_users (
    email       TEXT PRIMARY KEY,            -- lowercased
    key_hash    BLOB,                        -- NULL once the key is revoked
    created_at  INTEGER NOT NULL,
    key_created_at INTEGER
) STRICT;

CREATE TABLE api_user_accounts (
    email       TEXT NOT NULL REFERENCES api_users(email) ON DELETE CASCADE,
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (email, account_id)
) STRICT, WITHOUT ROWID;
