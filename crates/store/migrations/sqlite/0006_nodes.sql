-- vigil processes on this database: each writes a heartbeat, so `vigil cluster status` can tell
-- who is alive.
CREATE TABLE IF NOT EXISTS nodes (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    version      TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    stopped_at   INTEGER
);
