-- Messages an event handler could not act on (a condition that throws, a workflow that does not
-- exist, a task that is not waiting): parked with the reason, acknowledged on their queue so they
-- are not delivered forever. One row per queue and message id.
CREATE TABLE IF NOT EXISTS event_parked (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event      TEXT NOT NULL,
    handler    TEXT NOT NULL,
    message_id TEXT NOT NULL,
    payload    TEXT NOT NULL,
    error      TEXT NOT NULL,
    attempts   BIGINT NOT NULL,
    parked_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS event_parked_by_message ON event_parked (event, message_id);
