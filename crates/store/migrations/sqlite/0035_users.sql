-- Users and service accounts. A person signs in with a password (an Argon2id hash here, never
-- the password) and an optional one-time code (its secret sealed like a stored secret), or
-- through single sign-on; a service account only holds tokens. `role` is the account's role
-- everywhere (NULL: none of its own). Sign-in tries are counted here before the password is
-- checked, not in a node's memory, so the pause they earn (`paused_until`) holds on every node
-- and against tries sent at once; `totp_last_step` keeps a one-time code from being used twice.
CREATE TABLE IF NOT EXISTS users (
    id             TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    source         TEXT NOT NULL,
    role           TEXT,
    password_hash  TEXT,
    totp_sealed    TEXT,
    totp_last_step BIGINT,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    last_failed_at BIGINT,
    paused_until   BIGINT,
    last_sign_in_at BIGINT,
    created_at     BIGINT NOT NULL,
    disabled_at    BIGINT
);
-- A token may belong to a user or a service account (it then never does more than its owner
-- may), end at a time, and says when it was last used.
ALTER TABLE api_tokens ADD COLUMN user_id TEXT;
ALTER TABLE api_tokens ADD COLUMN expires_at BIGINT;
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
-- A UI session stands for a token (signed in with it) or for a user (signed in by password or
-- single sign-on; `token_id` is then empty).
ALTER TABLE ui_sessions ADD COLUMN user_id TEXT;
CREATE INDEX IF NOT EXISTS ui_sessions_by_user ON ui_sessions (user_id);
