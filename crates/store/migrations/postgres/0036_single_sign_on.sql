-- Single sign-on. An account created by an identity provider keeps the provider's name for the
-- person (`external_id`: `PROVIDER:SUBJECT`, so another provider, or a local account of the same
-- name, is never taken for it) and the groups the provider gave at the last sign-in (one per
-- line), which teams map to roles.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN provider_groups TEXT NOT NULL DEFAULT '';
-- The provider a UI session signed in through (NULL: a password or a token), so signing out
-- can sign out there too.
ALTER TABLE ui_sessions ADD COLUMN provider TEXT;
-- A sign-in sent to an identity provider and not back yet: the SHA-256 of its `state`, the
-- nonce and PKCE verifier it must come back with, the SHA-256 of the browser's binding cookie
-- (so a callback sent to someone else's browser is refused), and where to go afterwards. Taken
-- once (deleted when used), so a `state` cannot be replayed, on any node.
CREATE TABLE IF NOT EXISTS sign_in_states (
    state_hash   TEXT PRIMARY KEY,
    provider     TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    verifier     TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    next         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);
