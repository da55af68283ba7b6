-- Web UI sessions: a random id in the browser's cookie, only its SHA-256 here, tied to the API
-- token that signed in. Stored, not held in memory, so every node of a cluster knows a session
-- and a sign-out or a token's revocation ends it everywhere.
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_hash    TEXT PRIMARY KEY,
    token_id   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS ui_sessions_by_token ON ui_sessions (token_id);
