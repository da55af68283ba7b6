-- Incidents opened on status pages through the API (those declared in a page's file are not
-- stored): the incident as JSON (title, impact, components, updates), with when it began and,
-- once its last update says so, when it was resolved, to find a page's current and past ones.
CREATE TABLE IF NOT EXISTS incidents (
    page        TEXT NOT NULL,
    id          TEXT NOT NULL,
    opened_at   BIGINT NOT NULL,
    resolved_at BIGINT,
    body        TEXT NOT NULL,
    PRIMARY KEY (page, id)
);
CREATE INDEX IF NOT EXISTS incidents_by_page ON incidents (page, opened_at);
