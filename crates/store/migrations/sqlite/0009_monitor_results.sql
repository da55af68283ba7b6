-- Monitor results: the latest reading per series, and a compact history in time buckets.
CREATE TABLE IF NOT EXISTS monitor_results (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    labels     TEXT NOT NULL,
    tier       TEXT,
    value      REAL,
    note       TEXT,
    checked_at INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (monitor, series)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS monitor_history (
    monitor    TEXT NOT NULL,
    series     TEXT NOT NULL,
    bucket     INTEGER NOT NULL,
    checks     INTEGER NOT NULL,
    failing    INTEGER NOT NULL,
    errors     INTEGER NOT NULL,
    worst      INTEGER NOT NULL,
    min_value  REAL,
    max_value  REAL,
    sum_value  REAL,
    last_value REAL,
    PRIMARY KEY (monitor, series, bucket)
) WITHOUT ROWID;

-- Pruning by age.
CREATE INDEX IF NOT EXISTS monitor_history_bucket ON monitor_history (bucket);
