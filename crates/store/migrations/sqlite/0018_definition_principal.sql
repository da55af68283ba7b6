-- Who wrote an API definition (vigil_core::principal::Principal as JSON): its instances act with
-- that authority. NULL for rows written before principals were recorded.
ALTER TABLE definitions ADD COLUMN defined_by TEXT;
