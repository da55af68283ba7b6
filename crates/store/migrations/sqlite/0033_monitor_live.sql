-- What only the memory of the node running a monitor holds (its last checks, its history not
-- written yet), relayed for the nodes whose UI shows it: a node showing the monitor's page sets
-- `wanted_until`, and the node running it writes `body` every second until then.
CREATE TABLE IF NOT EXISTS monitor_live (
    monitor      TEXT PRIMARY KEY,
    wanted_until BIGINT NOT NULL,
    body         TEXT,
    written_at   BIGINT
);
