-- Notification groups (Alertmanager's aggregation groups): one row per route and group labels,
-- with its alerts and what each integration was last told, owned by the partition of its key.
CREATE TABLE alert_groups (
    group_key TEXT PRIMARY KEY,
    part INTEGER NOT NULL,
    next_wake BIGINT,
    updated_at BIGINT NOT NULL,
    state TEXT NOT NULL
);
CREATE INDEX alert_groups_by_part ON alert_groups (part);

-- A silence may start later than it is made (Alertmanager's startsAt).
ALTER TABLE silences ADD COLUMN starts_at BIGINT;
