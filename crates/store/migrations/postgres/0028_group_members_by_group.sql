-- An alert joining a group touches its primary key only: a partition's alerts are read through
-- its groups.
DROP INDEX IF EXISTS alert_group_members_by_part;
