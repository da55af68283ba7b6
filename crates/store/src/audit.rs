//! The audit log, as stored: rows are only added (and deleted by retention). Both backends run
//! the same SQL (numbered placeholders; `$n IS NULL OR ...` for the optional filters).

use vigil_core::time::Millis;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditRow {
    /// Its id, in the order changes were recorded (0 before it is stored).
    pub id: i64,
    /// When.
    pub at: Millis,
    /// Who: `user:NAME`, `token:ID`, `file:PATH` (a config reload), `cli:LOCAL-USER`, or
    /// `anonymous` (auth off).
    pub actor: String,
    /// Through what: `api`, `ui`, `cli` or `reload`.
    pub source: String,
    /// From where: the client's address, or the host for the CLI and reloads.
    pub address: String,
    /// What was done (`PUT /api/v1/workflows/nightly`, `changed`, `secret set`).
    pub action: String,
    /// The kind of object changed (`workflow`, `secret`, `silence`, `user`, ...).
    pub kind: String,
    /// Its name (empty when it has none yet).
    pub name: String,
    /// The change as JSON: a diff, or what was sent, with secret values redacted.
    pub change: String,
}

/// Which rows to read, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Of this kind only.
    pub kind: Option<String>,
    /// Of this name only.
    pub name: Option<String>,
    /// By this actor only.
    pub actor: Option<String>,
    /// Not before.
    pub since: Option<Millis>,
    /// With ids below this (the next page).
    pub before_id: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Adds a row; gives its id.
pub(crate) const INSERT: &str = "INSERT INTO audit_log (at, actor, source, address, action, kind, name, change) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

/// Rows matching the optional filters, newest first.
pub(crate) const SELECT: &str = "SELECT id, at, actor, source, address, action, kind, name, change FROM audit_log \
     WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR name = $2) AND ($3 IS NULL OR actor = $3) \
     AND ($4 IS NULL OR at >= $4) AND ($5 IS NULL OR id < $5) ORDER BY id DESC LIMIT $6";

/// Deletes at most `$2` rows older than `$1`.
pub(crate) const PRUNE: &str =
    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)";
