-- Workflow status changes to publish (status listeners): written in the transaction that
-- commits the change, deleted once the sink accepted the event, so a crash loses none.
CREATE TABLE IF NOT EXISTS status_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    part            BIGINT NOT NULL,
    instance_id     TEXT NOT NULL,
    sink            TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS status_outbox_by_part ON status_outbox (part, id);
CREATE INDEX IF NOT EXISTS status_outbox_by_instance ON status_outbox (instance_id, id);
