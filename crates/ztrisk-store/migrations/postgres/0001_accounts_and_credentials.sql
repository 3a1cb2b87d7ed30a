-- Accounts, API tokens and global API keys. Secrets are stored only as SHA-256 hashes.
-- Same tables and columns as migrations/sqlite/0001, so an export from one backend imports into
-- the other as a straight copy. Identifiers and emails compare bytewise (COLLATE "C"), as in
-- SQLite, whatever the database's default collation: orderings are the same on both backends.
CREATE TABLE accounts (
    id          text COLLATE "C" PRIMARY KEY,   -- 32 lowercase hex characters
    name        text NOT NULL,
    created_at  bigint NOT NULL                 -- unix milliseconds
);

CREATE TABLE api_tokens (
    id           text COLLATE "C" PRIMARY KEY,
    name         text NOT NULL,
    secret_hash  bytea NOT NULL UNIQUE,
    permissions  jsonb NOT NULL,                -- JSON array of permission names
    created_at   bigint NOT NULL,
    expires_at   bigint,
    revoked_at   bigint
);

CREATE TABLE api_token_accounts (
    token_id    text COLLATE "C" NOT NULL REFERENCES api_tokens(id) ON DELETE CASCADE,
    account_id  text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, account_id)
);

CREATE TABLE api_users (
    email       text COLLATE "C" PRIMARY KEY,   -- lowercased
    key_hash    bytea,                          -- NULL once the key is revoked
    created_at  bigint NOT NULL,
    key_created_at bigint
);

CREATE TABLE api_user_accounts (
    email       text COLLATE "C" NOT NULL REFERENCES api_users(email) ON DELETE CASCADE,
    account_id  text COLLATE "C" NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    PRIMARY KEY (email, account_id)
);
