-- Retention: when each instance ended (NULL while it runs), indexed for ended instances only,
-- so the background purge reads an index instead of every row. A running instance's commits
-- leave the column NULL, so they do not touch the index (and on PostgreSQL stay HOT updates:
-- no indexed column changes until the instance ends). Fire records and resolved alerts by age.
ALTER TABLE instances ADD COLUMN ended_at INTEGER;
UPDATE instances SET ended_at = updated_at WHERE status NOT IN ('RUNNING', 'PAUSED');
CREATE INDEX IF NOT EXISTS instances_ended ON instances (status, ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS schedule_fires_by_time ON schedule_fires (executed_at);
CREATE INDEX IF NOT EXISTS alerts_resolved ON alerts (updated_at) WHERE condition = 'ok';
