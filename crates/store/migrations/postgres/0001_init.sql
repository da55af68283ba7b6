-- Instances: a few columns to query by, and the whole state as JSON.
CREATE TABLE IF NOT EXISTS instances (
    id               TEXT PRIMARY KEY,
    workflow_name    TEXT NOT NULL,
    workflow_version BIGINT NOT NULL,
    status           TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    parent_id        TEXT,
    schedule_name    TEXT,
    state            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (status, created_at);
CREATE INDEX IF NOT EXISTS instances_by_name ON instances (workflow_name, created_at);

-- The next fire time of each schedule, so a restart knows what it missed.
CREATE TABLE IF NOT EXISTS schedule_state (
    name         TEXT PRIMARY KEY,
    next_fire_at BIGINT,
    updated_at   BIGINT NOT NULL
);

-- One row per fire time: the primary key is what makes a fire happen once.
CREATE TABLE IF NOT EXISTS schedule_fires (
    schedule_name TEXT NOT NULL,
    scheduled_at  BIGINT NOT NULL,
    instance_id   TEXT NOT NULL,
    executed_at   BIGINT NOT NULL,
    status        TEXT NOT NULL,
    PRIMARY KEY (schedule_name, scheduled_at)
);
CREATE INDEX IF NOT EXISTS schedule_fires_by_instance ON schedule_fires (instance_id);
CREATE INDEX IF NOT EXISTS schedule_fires_by_status ON schedule_fires (status);

-- Secrets, sealed with XChaCha20-Poly1305 (nonce || ciphertext).
CREATE TABLE IF NOT EXISTS secrets (
    name       TEXT PRIMARY KEY,
    sealed     BYTEA NOT NULL,
    updated_at BIGINT NOT NULL
);
