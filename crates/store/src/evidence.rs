//! What failed browser checks leave to look at: a screenshot and the page's console, the newest
//! few per monitor. Both backends run the same SQL.

use vigil_core::time::Millis;

/// How many are kept per monitor (older ones go as new ones come).
pub const KEPT_PER_MONITOR: i64 = 5;

/// A failed check's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckEvidence {
    /// The monitor.
    pub monitor: String,
    /// When the check ran (the engine's clock).
    pub at: Millis,
    /// Why it failed.
    pub note: String,
    /// The page's console, a line each.
    pub console: String,
    /// A PNG of the page (empty when none could be taken; not read by lists).
    pub screenshot: Vec<u8>,
    /// The screenshot's size in bytes.
    pub screenshot_bytes: i64,
}

/// Keeps one (a repeat of the same monitor and time replaces it).
pub(crate) const INSERT: &str = "INSERT INTO check_evidence (monitor, at, note, console, screenshot) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (monitor, at) DO UPDATE SET note = excluded.note, \
     console = excluded.console, screenshot = excluded.screenshot";

/// Forgets all but the newest few of a monitor.
pub(crate) const PRUNE: &str = "DELETE FROM check_evidence WHERE monitor = $1 AND at NOT IN \
     (SELECT at FROM check_evidence WHERE monitor = $1 ORDER BY at DESC LIMIT $2)";

/// A monitor's, newest first, without their screenshots.
pub(crate) const SELECT: &str = "SELECT monitor, at, note, console, CAST(length(screenshot) AS BIGINT) AS screenshot_bytes \
     FROM check_evidence WHERE monitor = $1 ORDER BY at DESC LIMIT $2";

/// Forgets what is older than `$1` (a deleted monitor's too).
pub(crate) const PRUNE_OLDER: &str = "DELETE FROM check_evidence WHERE at < $1";

/// One screenshot.
pub(crate) const SCREENSHOT: &str = "SELECT screenshot FROM check_evidence WHERE monitor = $1 AND at = $2";
