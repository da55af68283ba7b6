-- An alert joining a group touches the table's end and its key's index only: a partition's
-- alerts are read through its groups.
DROP INDEX IF EXISTS alert_group_members_by_part;
