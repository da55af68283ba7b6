-- A notification group's alerts, one row each: a group of thousands changes by the alerts that
-- change, not by rewriting all of them.
CREATE TABLE alert_group_members (
    group_key TEXT NOT NULL,
    member_key TEXT NOT NULL,
    part INTEGER NOT NULL,
    alert TEXT NOT NULL,
    PRIMARY KEY (group_key, member_key)
);
CREATE INDEX alert_group_members_by_part ON alert_group_members (part);
