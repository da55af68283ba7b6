-- The correlation id as a column, so searches by it (Conductor's `correlationId = X`, the
-- instance list's filter) read an index instead of every state. Set once, at creation.
ALTER TABLE instances ADD COLUMN correlation_id TEXT;
UPDATE instances SET correlation_id = json_extract(state, '$.correlationId')
    WHERE state LIKE '%"correlationId"%' AND json_valid(state);
CREATE INDEX instances_by_correlation ON instances (correlation_id, created_at) WHERE correlation_id IS NOT NULL;
