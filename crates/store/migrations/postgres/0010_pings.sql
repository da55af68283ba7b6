-- Heartbeat pings: each ping as received (capped body), and each heartbeat's state (latest per
-- kind), written in one transaction before the ping is answered.
CREATE TABLE IF NOT EXISTS pings (
    id          BIGSERIAL PRIMARY KEY,
    monitor     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    exit_code   BIGINT,
    rid         TEXT,
    body        TEXT,
    received_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS pings_monitor ON pings (monitor, id);
CREATE INDEX IF NOT EXISTS pings_received ON pings (received_at);

CREATE TABLE IF NOT EXISTS heartbeats (
    monitor     TEXT PRIMARY KEY,
    success     BIGINT,
    start       BIGINT,
    fail        BIGINT,
    exit_code   BIGINT,
    start_rid   BIGINT,
    start_ended BIGINT NOT NULL DEFAULT 0,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS heartbeats_updated ON heartbeats (updated_at);

-- Store-wide settings; `ping_salt` makes derived ping ids unguessable and the same on every node.
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO settings (key, value) VALUES ('ping_salt', md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text)) ON CONFLICT (key) DO NOTHING;
