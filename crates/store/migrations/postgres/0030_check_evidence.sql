-- What failed browser checks leave to look at: a screenshot and the page's console, the newest
-- few per monitor (the store prunes older ones as it keeps new ones).
CREATE TABLE IF NOT EXISTS check_evidence (
    monitor    TEXT NOT NULL,
    at         BIGINT NOT NULL,
    note       TEXT NOT NULL,
    console    TEXT NOT NULL,
    screenshot BYTEA NOT NULL,
    PRIMARY KEY (monitor, at)
);
