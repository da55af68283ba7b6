-- A silence that ends once nothing it matches fires ("silence until resolved"); its ends_at is
-- then only the latest it may last.
ALTER TABLE silences ADD COLUMN until_resolved BIGINT NOT NULL DEFAULT 0;
