-- Maintenance windows scheduled on status pages through the API (those declared in a page's
-- file are not stored): the window as JSON (title, message, components, starts, ends,
-- cancelled), with its start and end to find a page's windows to come and under way.
CREATE TABLE IF NOT EXISTS status_maintenance (
    page      TEXT NOT NULL,
    id        TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at   BIGINT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (page, id)
);
CREATE INDEX IF NOT EXISTS status_maintenance_by_end ON status_maintenance (page, ends_at);
-- What a page's subscribers were told of each window (declared or scheduled): written in the
-- same transaction as the notices telling it, so each is told once, on whichever node.
CREATE TABLE IF NOT EXISTS maintenance_told (
    page    TEXT NOT NULL,
    window_key TEXT NOT NULL,
    event   TEXT NOT NULL,
    told_at BIGINT NOT NULL,
    PRIMARY KEY (page, window_key, event)
);
