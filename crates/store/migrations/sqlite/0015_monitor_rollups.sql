-- Monitor history downsampled: each closed bucket of monitor_history is also merged into one
-- row per series per width (5 minutes, an hour, a day by default), kept longer than the fine
-- buckets, so uptime over 30 days reads a few rows per series.
CREATE TABLE IF NOT EXISTS monitor_rollups (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    width      INTEGER NOT NULL,
    bucket     INTEGER NOT NULL,
    checks     INTEGER NOT NULL,
    failing    INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    worst      INTEGER NOT NULL,
    min_value  REAL,
    max_value  REAL,
    sum_value  REAL,
    last_value REAL,
    PRIMARY KEY (monitor, series, width, bucket)
) WITHOUT ROWID;

-- Pruning by age, per width.
CREATE INDEX IF NOT EXISTS monitor_rollups_by_age ON monitor_rollups (width, bucket);
