-- The audit log: every change to what vigil runs or who may use it, from the API, the UI, the
-- CLI and config reloads: who (`actor`), when, from where, what (`action` on `kind` `name`), and
-- the change (JSON: a diff or what was sent, secret values redacted). Rows are only added, and
-- deleted by retention (`--retain-audit`).
CREATE TABLE IF NOT EXISTS audit_log (
    id      BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    source  TEXT NOT NULL,
    address TEXT NOT NULL,
    action  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    name    TEXT NOT NULL,
    change  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_object ON audit_log (kind, name, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_log (at);
