-- An address is sent one confirmation per period, whatever page it subscribes to: the
-- subscribe statement looks its recent unconfirmed rows up by kind and address.
CREATE INDEX IF NOT EXISTS status_subscribers_address ON status_subscribers (kind, address, created_at);
