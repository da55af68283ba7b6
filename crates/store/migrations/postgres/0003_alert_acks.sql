-- Acknowledgements requested by `vigil alert ack`, applied by the alert manager that owns the key.
CREATE TABLE IF NOT EXISTS alert_ack_requests (
    dedup_key    TEXT PRIMARY KEY,
    requested_at BIGINT NOT NULL
);
