//! Incidents opened on status pages, as stored: the incident itself is JSON the runtime reads
//! (`vigil_core::status_page::Incident`); the columns are what a page's current and past
//! incidents are found by. Both backends run the same SQL.

use vigil_core::time::Millis;

/// One stored incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// The status page's slug.
    pub page: String,
    /// Its id on the page.
    pub id: String,
    /// When it began (its first update).
    pub opened_at: Millis,
    /// When it was resolved; `None` while it is not.
    pub resolved_at: Option<Millis>,
    /// The incident, as JSON.
    pub body: String,
}

/// Adds or replaces an incident.
pub(crate) const UPSERT: &str = "INSERT INTO incidents (page, id, opened_at, resolved_at, body) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (page, id) DO UPDATE SET opened_at = excluded.opened_at, resolved_at = excluded.resolved_at, body = excluded.body";

/// Replaces an incident only if it is still as read (`$6`: its body then).
pub(crate) const REPLACE_IF: &str = "UPDATE incidents SET opened_at = $3, resolved_at = $4, body = $5 \
     WHERE page = $1 AND id = $2 AND body = $6";

/// One incident of a page.
pub(crate) const SELECT_ONE: &str =
    "SELECT page, id, opened_at, resolved_at, body FROM incidents WHERE page = $1 AND id = $2";

/// A page's incidents that began before `$3` and were not resolved before `$2`, newest first.
pub(crate) const SELECT_BETWEEN: &str = "SELECT page, id, opened_at, resolved_at, body FROM incidents \
     WHERE page = $1 AND opened_at < $3 AND (resolved_at IS NULL OR resolved_at >= $2) ORDER BY opened_at DESC LIMIT $4";
