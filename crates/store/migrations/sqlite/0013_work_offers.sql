-- SIMPLE tasks offered to workers on every node of a cluster (one node on SQLite keeps its queue
-- in memory). A poll claims and deletes offers in one statement.
CREATE TABLE IF NOT EXISTS work_offers (
    instance_id TEXT NOT NULL,
    task_id     TEXT NOT NULL,
    task_type   TEXT NOT NULL,
    part        INTEGER NOT NULL,
    visible_at  INTEGER NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (instance_id, task_id)
);
CREATE INDEX IF NOT EXISTS work_offers_by_type ON work_offers (task_type, visible_at);
