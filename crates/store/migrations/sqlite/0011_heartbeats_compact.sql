-- Heartbeat states, stored by monitor name alone (WITHOUT ROWID: the row lives in its key's
-- b-tree, so a ping batch dirties one page per heartbeat instead of the table's and an index's),
-- and without the `updated_at` index: SQLite runs one node, which reads the states only whole at
-- start (the cluster poller that reads recent changes runs on PostgreSQL). A ping's write then
-- touches two random pages (its heartbeat and the per-monitor ping index), not three.
CREATE TABLE heartbeats_compact (
    monitor     TEXT PRIMARY KEY,
    success     INTEGER,
    start       INTEGER,
    fail        INTEGER,
    exit_code   INTEGER,
    start_rid   INTEGER,
    start_ended INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO heartbeats_compact (monitor, success, start, fail, exit_code, start_rid, start_ended, updated_at)
    SELECT monitor, success, start, fail, exit_code, start_rid, start_ended, updated_at FROM heartbeats;
DROP TABLE heartbeats;
ALTER TABLE heartbeats_compact RENAME TO heartbeats;
