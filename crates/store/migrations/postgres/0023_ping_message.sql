-- A ping that came as a queue's message keeps the queue and the message's id: delivered again
-- (the broker did not see its acknowledgement), it is not a second ping.
ALTER TABLE pings ADD COLUMN queue TEXT;
ALTER TABLE pings ADD COLUMN message_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS pings_by_message ON pings (monitor, message_id) WHERE message_id IS NOT NULL;
