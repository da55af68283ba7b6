-- Mirrors SQLite's 0011, which stores heartbeat states WITHOUT ROWID and drops their `updated_at`
-- index. Nothing changes here: a PostgreSQL table has no rowid b-tree, and the cluster poller
-- reads recent changes through `heartbeats_updated`.
SELECT 1;
