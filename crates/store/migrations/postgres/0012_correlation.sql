-- The correlation id as a column, so searches by it (Conductor's `correlationId = X`, the
-- instance list's filter) read an index instead of every state. Set once, at creation.
ALTER TABLE instances ADD COLUMN IF NOT EXISTS correlation_id TEXT;
UPDATE instances SET correlation_id = state::jsonb ->> 'correlationId' WHERE state LIKE '%"correlationId"%';
CREATE INDEX IF NOT EXISTS instances_by_correlation ON instances (correlation_id, created_at)
    WHERE correlation_id IS NOT NULL;
