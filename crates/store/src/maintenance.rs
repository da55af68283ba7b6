//! Maintenance windows on status pages, as stored: a window scheduled through the API is JSON
//! the runtime reads (`vigil_core::status_page::Maintenance`), its columns what a page's windows
//! are found by; and what subscribers were told of each window (declared or scheduled), so each
//! thing is told once whichever node tells it. Both backends run the same SQL.

use vigil_core::time::Millis;

use crate::NewNotice;

/// One stored window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceRow {
    /// The status page's slug.
    pub page: String,
    /// Its id on the page.
    pub id: String,
    /// When it starts.
    pub starts_at: Millis,
    /// When it ends.
    pub ends_at: Millis,
    /// The window, as JSON.
    pub body: String,
}

/// One write, in one transaction: a window added or changed, what its subscribers are told, or
/// both. Nothing is written when the window changed since it was read, or when what is told
/// was told before (or needs something told first that was not).
#[derive(Debug, Clone, Default)]
pub struct MaintenanceWrite {
    /// The window to add (`read: None`) or to replace if its body is still `read`.
    pub window: Option<(MaintenanceRow, Option<String>)>,
    /// What is told: `(page, window key, event)`.
    pub told: Option<(String, String, String)>,
    /// Told only if this event of the same window was told before.
    pub after: Option<String>,
    /// The notices telling it.
    pub notices: Vec<NewNotice>,
    /// When.
    pub at: Millis,
}

/// Adds a window, unless one has its id.
pub(crate) const INSERT: &str = "INSERT INTO status_maintenance (page, id, starts_at, ends_at, body) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (page, id) DO NOTHING";

/// Replaces a window only if it is still as read (`$6`: its body then).
pub(crate) const REPLACE_IF: &str = "UPDATE status_maintenance SET starts_at = $3, ends_at = $4, body = $5 \
     WHERE page = $1 AND id = $2 AND body = $6";

/// Records that something was told, once.
pub(crate) const TELL: &str = "INSERT INTO maintenance_told (page, window_key, event, told_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (page, window_key, event) DO NOTHING";

/// Records that something was told, once, if `$5` was told before.
pub(crate) const TELL_AFTER: &str = "INSERT INTO maintenance_told (page, window_key, event, told_at) \
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM maintenance_told WHERE page = $1 AND window_key = $2 AND event = $5) \
     ON CONFLICT (page, window_key, event) DO NOTHING";

/// One window of a page.
pub(crate) const SELECT_ONE: &str =
    "SELECT page, id, starts_at, ends_at, body FROM status_maintenance WHERE page = $1 AND id = $2";

/// A page's windows ending after `$2`, soonest first, at most `$3`.
pub(crate) const SELECT_ENDING_AFTER: &str = "SELECT page, id, starts_at, ends_at, body FROM status_maintenance \
     WHERE page = $1 AND ends_at > $2 ORDER BY starts_at, id LIMIT $3";

/// What was told of a page's window.
pub(crate) const SELECT_TOLD: &str = "SELECT event FROM maintenance_told WHERE page = $1 AND window_key = $2";
