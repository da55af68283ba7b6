//! Stored API tokens, API-written definitions and node heartbeats.

use vigil_core::time::Millis;

/// An API token as stored: the hash of its secret, never the secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    /// Public id (the first part of the token, and the key id for Conductor SDKs).
    pub id: String,
    /// A label.
    pub name: String,
    /// `read`, `respond`, `write` or `admin`.
    pub role: String,
    /// SHA-256 of the secret, hex.
    pub secret_hash: String,
    /// Creation time.
    pub created_at: Millis,
    /// When it was revoked.
    pub revoked_at: Option<Millis>,
    /// What definitions written with a non-admin token may reference: secret names, and
    /// `env:NAME` for environment variables.
    pub grants: Vec<String>,
    /// The user or service account it belongs to (it never does more than its owner may);
    /// `None` for a role token.
    pub user_id: Option<String>,
    /// When it stops working, if ever.
    pub expires_at: Option<Millis>,
    /// When it was last used (to the minute: each node writes it at most once a minute).
    pub last_used_at: Option<Millis>,
}

/// Reads the stored, comma-separated grants.
pub fn split_grants(stored: &str) -> Vec<String> {
    stored.split(',').map(str::trim).filter(|g| !g.is_empty()).map(str::to_string).collect()
}

/// A definition written through the API, kept as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRow {
    /// `workflow` or `taskdef`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Version (0 for kinds without versions).
    pub version: u32,
    /// The JSON document.
    pub body: String,
    /// Last write.
    pub updated_at: Millis,
    /// Who wrote it through the API (a principal as JSON); `None` for the config directory's
    /// published files and rows written before it was recorded.
    pub defined_by: Option<String>,
}

/// A vigil process on this database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRow {
    /// Its id: `--node-id`, or the host and API port, so a restarted node is the same node.
    pub id: String,
    /// Host name.
    pub host: String,
    /// vigil version.
    pub version: String,
    /// When it started.
    pub started_at: Millis,
    /// Its last heartbeat.
    pub heartbeat_at: Millis,
    /// When it stopped gracefully.
    pub stopped_at: Option<Millis>,
}
