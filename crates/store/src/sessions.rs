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
    /// The identity provider it signed in through, if any.
    pub provider: Option<String>,
}

/// Adds a session.
pub(crate) const INSERT: &str = "INSERT INTO ui_sessions (id_hash, token_id, created_at, expires_at, user_id, provider) VALUES ($1, $2, $3, $4, $5, $6)";

/// A session that has not expired at `$2`.
pub(crate) const SELECT_LIVE: &str = "SELECT id_hash, token_id, created_at, expires_at, user_id, provider FROM ui_sessions WHERE id_hash = $1 AND expires_at > $2";

/// Ends one session.
pub(crate) const DELETE: &str = "DELETE FROM ui_sessions WHERE id_hash = $1";

/// Ends every session of a token (when it is revoked).
pub(crate) const DELETE_OF_TOKEN: &str = "DELETE FROM ui_sessions WHERE token_id = $1";

/// Forgets sessions that expired before `$1`.
pub(crate) const DELETE_EXPIRED: &str = "DELETE FROM ui_sessions WHERE expires_at <= $1";

/// A sign-in sent to an identity provider and not back yet. The browser holds the `state` and
/// a binding cookie; the store keeps only their SHA-256, with what the answer must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInStateRow {
    /// SHA-256 of the `state` sent to the provider, hex.
    pub state_hash: String,
    /// The identity provider's name.
    pub provider: String,
    /// The `nonce` the ID token must carry.
    pub nonce: String,
    /// The PKCE code verifier, sent with the code.
    pub verifier: String,
    /// SHA-256 of the binding cookie set in the browser that began the sign-in, hex.
    pub binding_hash: String,
    /// The local path to open afterwards.
    pub next: String,
    /// When it is no longer taken.
    pub expires_at: Millis,
}

/// Adds a pending sign-in.
pub(crate) const INSERT_SIGN_IN_STATE: &str = "INSERT INTO sign_in_states (state_hash, provider, nonce, verifier, \
     binding_hash, next, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Forgets pending sign-ins that expired before `$1`.
pub(crate) const DELETE_EXPIRED_SIGN_IN_STATES: &str = "DELETE FROM sign_in_states WHERE expires_at <= $1";

/// Takes a pending sign-in: it is deleted in the same statement, so only one caller gets it.
pub(crate) const TAKE_SIGN_IN_STATE: &str = "DELETE FROM sign_in_states WHERE state_hash = $1 \
     RETURNING state_hash, provider, nonce, verifier, binding_hash, next, expires_at";
