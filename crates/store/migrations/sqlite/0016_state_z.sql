-- An ended instance's large state, deflated (the state column is empty then): a few rows per
-- page instead of one.
ALTER TABLE instances ADD COLUMN state_z BLOB;
