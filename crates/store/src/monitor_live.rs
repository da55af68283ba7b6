//! The relay of what only the memory of the node running a monitor holds (its last checks, its
//! history not written yet) to the other nodes of a cluster, for their UI. A node showing the
//! monitor's page asks for it (`wanted_until`); the node running it writes the body every second
//! while it is wanted. One row per monitor ever shown elsewhere; rows unwanted for a day go.
//! Both backends run the same SQL.

use vigil_core::time::Millis;

/// What a relayed monitor's row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorLiveRow {
    /// The body the node running the monitor wrote (the runtime's JSON).
    pub body: String,
    /// When it wrote it.
    pub written_at: Millis,
}

/// Asks for a monitor's relay until `$2`, and reads what was relayed so far.
pub(crate) const WANT: &str = "INSERT INTO monitor_live (monitor, wanted_until) VALUES ($1, $2) \
     ON CONFLICT (monitor) DO UPDATE SET wanted_until = excluded.wanted_until \
     RETURNING body, written_at";

/// The monitors wanted at `$1`.
pub(crate) const WANTED: &str = "SELECT monitor FROM monitor_live WHERE wanted_until > $1 ORDER BY monitor";

/// Writes a monitor's relayed body.
pub(crate) const WRITE: &str = "UPDATE monitor_live SET body = $2, written_at = $3 WHERE monitor = $1";

/// Forgets the monitors nobody wanted since `$1`.
pub(crate) const FORGET: &str = "DELETE FROM monitor_live WHERE wanted_until < $1";
