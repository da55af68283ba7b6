-- Cluster: every instance, alert key and schedule belongs to one of 64 partitions; a node owns a
-- partition while it holds the partition's lease. Messages for a partition's owner wait in the
-- inbox until the owner has applied them.
ALTER TABLE instances ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS instances_by_part ON instances (part, status);
ALTER TABLE alerts ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS alerts_by_part ON alerts (part);
ALTER TABLE outbox ADD COLUMN part INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS outbox_by_part ON outbox (part, status);

CREATE TABLE IF NOT EXISTS partition_leases (
    part        INTEGER PRIMARY KEY,
    owner       TEXT,
    epoch       INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER NOT NULL DEFAULT 0,
    acquired_at INTEGER
);
WITH RECURSIVE n(part) AS (SELECT 0 UNION ALL SELECT part + 1 FROM n WHERE part < 63)
INSERT OR IGNORE INTO partition_leases (part) SELECT part FROM n;

CREATE TABLE IF NOT EXISTS inbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    part       INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    target     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS inbox_by_part ON inbox (part, id);
