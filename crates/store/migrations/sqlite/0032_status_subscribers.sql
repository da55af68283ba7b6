-- Status page subscribers (email addresses confirmed by a link, webhooks) and the notices
-- waiting to go to them: one row per message and subscriber, written with the change it tells
-- of, once per dedup key, deleted when sent.
CREATE TABLE IF NOT EXISTS status_subscribers (
    page         TEXT NOT NULL,
    id           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    address      TEXT NOT NULL,
    components   TEXT NOT NULL,
    confirmed_at BIGINT,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (page, id),
    UNIQUE (page, kind, address)
);
CREATE TABLE IF NOT EXISTS subscriber_notices (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    page            TEXT NOT NULL,
    subscriber      TEXT NOT NULL,
    dedup           TEXT NOT NULL UNIQUE,
    body            TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS subscriber_notices_due ON subscriber_notices (page, next_attempt_at);
