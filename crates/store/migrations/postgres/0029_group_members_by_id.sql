-- A group's alerts by an id the alert manager hands out from a block of its own (`member_ids`),
-- rising: an alert joining a group appends to the table, with no index to update, and one that
-- changes or leaves is found by its id, which the manager keeps in memory.
CREATE TABLE alert_group_members_by_id (
    id BIGINT PRIMARY KEY,
    group_key TEXT NOT NULL,
    member_key TEXT NOT NULL,
    alert TEXT NOT NULL
);
INSERT INTO alert_group_members_by_id (id, group_key, member_key, alert)
    SELECT ROW_NUMBER() OVER (ORDER BY group_key, member_key), group_key, member_key, alert FROM alert_group_members;
DROP TABLE alert_group_members;
ALTER TABLE alert_group_members_by_id RENAME TO alert_group_members;
-- Blocks of ids handed out, by sequence: the last block's number.
CREATE TABLE id_blocks (
    name TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
