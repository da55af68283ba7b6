-- What a non-admin token's definitions may reference: secret names, and `env:NAME` for environment
-- variables, comma-separated. Empty: nothing. Admin tokens and config files are not limited.
ALTER TABLE api_tokens ADD COLUMN grants TEXT NOT NULL DEFAULT '';
