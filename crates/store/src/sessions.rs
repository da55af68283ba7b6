//! Web UI sessions. The browser holds a random session id; the store keeps only its SHA-256,
//! the token that signed in, and when the session ends. Both backends run the same SQL
//! (numbered placeholders work in SQLite and PostgreSQL).

use vigil_core::time::Millis;

/// A signed-in UI session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session id, hex: the id itself is only in the browser's cookie.
    pub id_hash: String,
    /// The API token that signed in; its role and grants are read when the session is used.
    /// Empty for a user's session.
    pub token_id: String,
    /// The user who signed in (by password or single sign-on); `None` for a token's session.
    pub user_id: Option<String>,
    /// When it began.
    pub created_at: Millis,
    /// When it ends, whatever happens.
    pub expires_at: Millis,
}

/// Adds a session.
pub(crate) const INSERT: &str =
    "INSERT INTO ui_sessions (id_hash, token_id, created_at, expires_at, user_id) VALUES ($1, $2, $3, $4, $5)";

/// A session that has not expired at `$2`.
pub(crate) const SELECT_LIVE: &str =
    "SELECT id_hash, token_id, created_at, expires_at, user_id FROM ui_sessions WHERE id_hash = $1 AND expires_at > $2";

/// Ends one session.
pub(crate) const DELETE: &str = "DELETE FROM ui_sessions WHERE id_hash = $1";

/// Ends every session of a token (when it is revoked).
pub(crate) const DELETE_OF_TOKEN: &str = "DELETE FROM ui_sessions WHERE token_id = $1";

/// Forgets sessions that expired before `$1`.
pub(crate) const DELETE_EXPIRED: &str = "DELETE FROM ui_sessions WHERE expires_at <= $1";
