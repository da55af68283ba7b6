-- The instance listing's order is newest first, then id. An index in that order lets an
-- unfiltered page, or the page after a continuation token, read 50 index entries instead of
-- sorting every instance (388 ms at 1,000,000 instances without it). The status index gets the
-- same order, so "the latest failed" reads a few entries instead of every failed instance.
CREATE INDEX IF NOT EXISTS instances_by_created ON instances (created_at DESC, id);
DROP INDEX IF EXISTS instances_by_status;
CREATE INDEX IF NOT EXISTS instances_by_status ON instances (status, created_at DESC, id);
