-- Risk sharing: signing keys, webhooks, and the outbox of deliveries (spec 4).

-- RSA keys that sign Security Event Tokens. One is `active` (signs); `published` ones stay in
-- the JWKS so receivers that cached it keep verifying; `retired` ones are gone from it.
-- The private key is PKCS#8 DER: protect the database file (ztrisk creates it owner-only).
CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,              -- RFC 7638 thumbprint
    private_key  BLOB NOT NULL,                 -- PKCS#8 DER
    status       TEXT NOT NULL,                 -- active | published | retired
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
) STRICT;

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,               -- UUID
    account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    active      INTEGER NOT NULL,
    format      TEXT NOT NULL,                  -- standard | slack
    min_rank    INTEGER NOT NULL,               -- 1 low, 2 medium, 3 high
    secret      TEXT NOT NULL,                  -- whsec_...: needed to sign, so kept as is
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_by_account ON webhooks (account_id, created_at);

-- One row per level change and destination, written in the transaction of the change.
-- `seq` orders the changes; a destination gets a user's changes in that order. Rows are
-- found by `seq` (the id is random, and an index on it would cost every insert a random write).
CREATE TABLE deliveries (
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL,            -- jti / webhook-id: 32 random hex, the same on retries
    account_id        TEXT NOT NULL,
    destination_kind  TEXT NOT NULL,            -- integration | webhook
    destination_id    TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    user_key          INTEGER NOT NULL,         -- users.key: orders a user's deliveries
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    previous_rank     INTEGER NOT NULL,         -- 0 unscored, 1 low, 2 medium, 3 high
    current_rank      INTEGER NOT NULL,
    cause             TEXT NOT NULL,            -- behavior id | reset | confirmed_compromised | expired
    changed_at        INTEGER NOT NULL,         -- unix ms
    status            TEXT NOT NULL,            -- pending | delivered | failed | superseded
    attempts          INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    last_attempt_at   INTEGER,
    next_attempt_at   INTEGER NOT NULL,
    claimed_until     INTEGER NOT NULL DEFAULT 0, -- a worker is sending it until then
    payload           BLOB,                     -- the bytes sent first, resent on retries
    last_error        TEXT
) STRICT;
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_pending_by_user ON deliveries (destination_id, user_key, seq)
    WHERE status = 'pending';
CREATE INDEX deliveries_by_destination ON deliveries (destination_id, seq);
