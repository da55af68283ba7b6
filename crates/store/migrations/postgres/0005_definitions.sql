-- Definitions written through the API (workflows, task definitions), kept as the JSON received.
CREATE TABLE IF NOT EXISTS definitions (
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    body       TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (kind, name, version)
);
