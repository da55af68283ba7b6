-- Who made a silence (Alertmanager's createdBy; amtool sets the user's name).
ALTER TABLE silences ADD COLUMN created_by TEXT;
