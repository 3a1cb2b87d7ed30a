-- SSF 1.0 streams (spec 4.5): one per SSF integration, configured by its receiver. Their
-- SETs travel through the deliveries outbox like every level change.

CREATE TABLE ssf_streams (
    integration_id        TEXT PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    account_id            TEXT NOT NULL,
    stream_id             TEXT NOT NULL UNIQUE,  -- UUID, chosen by ztrisk
    delivery_method       TEXT NOT NULL,         -- push | poll
    endpoint_url          TEXT,                  -- push: the receiver's URL
    authorization_header  TEXT,                  -- push: the receiver's credential, sent as is, never shown
    events_requested      TEXT NOT NULL,         -- JSON array, as the receiver spelled it
    delivers_risk         INTEGER NOT NULL,      -- 1: risk-level-change is among the events delivered
    description           TEXT,
    status                TEXT NOT NULL,         -- enabled | paused | disabled
    reason                TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

-- Subjects a receiver removed from its stream (default: every subject is in).
CREATE TABLE ssf_removed_subjects (
    integration_id  TEXT NOT NULL REFERENCES ssf_streams(integration_id) ON DELETE CASCADE,
    email           TEXT NOT NULL,               -- lowercased
    PRIMARY KEY (integration_id, email)
) STRICT;

-- A stream's own events (verification, stream-updated) are deliveries with user_key 0, the
-- stream id as user_id, `ssf:...` as cause, and their members here.
ALTER TABLE deliveries ADD COLUMN detail TEXT;
