-- What Healthchecks keeps of a ping besides its kind: the method, user agent, client address and
-- scheme, and a body that is not UTF-8, byte for byte (a text body stays in `body`).
ALTER TABLE pings ADD COLUMN body_raw BYTEA;
ALTER TABLE pings ADD COLUMN method TEXT;
ALTER TABLE pings ADD COLUMN user_agent TEXT;
ALTER TABLE pings ADD COLUMN remote_addr TEXT;
ALTER TABLE pings ADD COLUMN scheme TEXT;
