-- Monitor history downsampled: each closed bucket of monitor_history is also merged into one
-- row per series per width (5 minutes, an hour, a day by default), kept longer than the fine
-- buckets, so uptime over 30 days reads a few rows per series.
CREATE TABLE IF NOT EXISTS monitor_rollups (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    width      BIGINT NOT NULL,
    bucket     BIGINT NOT NULL,
    checks     BIGINT NOT NULL,
    failing    BIGINT NOT NULL,
    errors     BIGINT NOT NULL,
    worst      BIGINT NOT NULL,
    min_value  DOUBLE PRECISION,
    max_value  DOUBLE PRECISION,
    sum_value  DOUBLE PRECISION,
    last_value DOUBLE PRECISION,
    PRIMARY KEY (monitor, series, width, bucket)
);

-- Pruning by age, per width.
CREATE INDEX IF NOT EXISTS monitor_rollups_by_age ON monitor_rollups (width, bucket);
