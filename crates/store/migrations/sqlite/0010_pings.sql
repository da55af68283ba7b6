-- Heartbeat pings: each ping as received (capped body), and each heartbeat's state (latest per
-- kind), written in one transaction before the ping is answered.
CREATE TABLE IF NOT EXISTS pings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    exit_code   INTEGER,
    rid         TEXT,
    body        TEXT,
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS pings_monitor ON pings (monitor, id);
CREATE INDEX IF NOT EXISTS pings_received ON pings (received_at);

CREATE TABLE IF NOT EXISTS heartbeats (
    monitor     TEXT PRIMARY KEY,
    success     INTEGER,
    start       INTEGER,
    fail        INTEGER,
    exit_code   INTEGER,
    start_rid   INTEGER,
    start_ended INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS heartbeats_updated ON heartbeats (updated_at);

-- Store-wide settings; `ping_salt` makes derived ping ids unguessable and the same on every node.
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO settings (key, value) VALUES ('ping_salt', lower(hex(randomblob(32)))) ON CONFLICT (key) DO NOTHING;
