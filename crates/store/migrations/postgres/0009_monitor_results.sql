-- Monitor results: the latest reading per series, and a compact history in time buckets.
CREATE TABLE IF NOT EXISTS monitor_results (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    labels     TEXT NOT NULL,
    tier       TEXT,
    value      DOUBLE PRECISION,
    note       TEXT,
    checked_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (monitor, series)
);

CREATE TABLE IF NOT EXISTS monitor_history (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    bucket     BIGINT NOT NULL,
    checks     BIGINT NOT NULL,
    failing    BIGINT NOT NULL,
    errors     BIGINT NOT NULL,
    worst      BIGINT NOT NULL,
    min_value  DOUBLE PRECISION,
    max_value  DOUBLE PRECISION,
    sum_value  DOUBLE PRECISION,
    last_value DOUBLE PRECISION,
    PRIMARY KEY (monitor, series, bucket)
);

-- Pruning by age.
CREATE INDEX IF NOT EXISTS monitor_history_bucket ON monitor_history (bucket);
