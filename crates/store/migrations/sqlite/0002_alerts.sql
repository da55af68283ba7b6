-- Alert state per dedup key: columns to list and wake by, and the whole state as JSON.
CREATE TABLE IF NOT EXISTS alerts (
    dedup_key     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    condition     TEXT NOT NULL,
    firing_since  INTEGER,
    last_notified INTEGER,
    acknowledged  INTEGER NOT NULL,
    next_wake     INTEGER,
    updated_at    INTEGER NOT NULL,
    state         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_by_wake ON alerts (next_wake);
CREATE INDEX IF NOT EXISTS alerts_by_condition ON alerts (condition);

-- The outbox: one row per notification per notifier, written in the same transaction as the
-- alert state change that caused it, and delivered after commit. Rows of one dedup key and
-- notifier are delivered in id order.
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key       TEXT NOT NULL,
    notifier        TEXT NOT NULL,
    notice          TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_by_status ON outbox (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_by_key ON outbox (dedup_key, notifier, id);

-- Silences: label matchers (JSON) until an expiry.
CREATE TABLE IF NOT EXISTS silences (
    id         TEXT PRIMARY KEY,
    matchers   TEXT NOT NULL,
    ends_at    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    comment    TEXT
);
