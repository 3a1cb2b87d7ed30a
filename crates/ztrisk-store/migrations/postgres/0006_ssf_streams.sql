-- SSF 1.0 streams (spec 4.5): one per SSF integration, configured by its receiver. Their
-- SETs travel through the deliveries outbox like every level change. Same tables and columns
-- as SQLite's 0006_ssf_streams.

CREATE TABLE ssf_streams (
    integration_id        text COLLATE "C" PRIMARY KEY REFERENCES integrations(id) ON DELETE CASCADE,
    account_id            text COLLATE "C" NOT NULL,
    stream_id             text COLLATE "C" NOT NULL UNIQUE,  -- UUID, chosen by ztrisk
    delivery_method       text NOT NULL,         -- push | poll
    endpoint_url          text,                  -- push: the receiver's URL
    authorization_header  text,                  -- push: the receiver's credential, sent as is, never shown
    events_requested      text NOT NULL,         -- JSON array, as the receiver spelled it
    delivers_risk         boolean NOT NULL,      -- risk-level-change is among the events delivered
    description           text,
    status                text NOT NULL,         -- enabled | paused | disabled
    reason                text,
    created_at            bigint NOT NULL,
    updated_at            bigint NOT NULL
);

-- Subjects a receiver removed from its stream (default: every subject is in).
CREATE TABLE ssf_removed_subjects (
    integration_id  text COLLATE "C" NOT NULL REFERENCES ssf_streams(integration_id) ON DELETE CASCADE,
    email           text COLLATE "C" NOT NULL,   -- lowercased
    PRIMARY KEY (integration_id, email)
);

-- A stream's own events (verification, stream-updated) are deliveries with user_key 0, the
-- stream id as user_id, `ssf:...` as cause, and their members here.
ALTER TABLE deliveries ADD COLUMN detail text;
