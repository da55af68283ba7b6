//! Users and service accounts, as stored. Both backends run the same SQL (numbered placeholders
//! and `ON CONFLICT ... DO UPDATE` work in SQLite and PostgreSQL).

use vigil_core::time::Millis;

/// A person or a service account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserRow {
    /// The account's name, as signed in with (lower case).
    pub id: String,
    /// A name to show.
    pub display_name: String,
    /// An email address, if known.
    pub email: String,
    /// `person` or `service` (a service account holds tokens and never signs in).
    pub kind: String,
    /// Where it comes from: `local`, `oidc` or `ldap`.
    pub source: String,
    /// Its role everywhere (`read`, `respond`, `write`, `admin`), if it has one.
    pub role: Option<String>,
    /// The Argon2id hash of its password (a PHC string); none without a local password.
    pub password_hash: Option<String>,
    /// Its one-time-code secret, sealed; none when it has not set one up.
    pub totp_sealed: Option<String>,
    /// The last one-time-code time step accepted.
    pub totp_last_step: Option<i64>,
    /// Wrong passwords or codes in a row.
    pub failed_sign_ins: u32,
    /// When the last of them was.
    pub last_failed_at: Option<Millis>,
    /// Until when sign-ins wait (after too many wrong tries).
    pub paused_until: Option<Millis>,
    /// When it last signed in.
    pub last_sign_in_at: Option<Millis>,
    /// When it was created.
    pub created_at: Millis,
    /// When it was disabled: it can neither sign in nor use its tokens.
    pub disabled_at: Option<Millis>,
    /// Who the identity provider says it is (`PROVIDER:SUBJECT`), for an account it created.
    pub external_id: Option<String>,
    /// The groups its identity provider gave at its last sign-in.
    pub groups: Vec<String>,
}

/// Every column, in [`UserRow`]'s order (a macro, so the statements below are literals).
macro_rules! columns {
    () => {
        "id, display_name, email, kind, source, role, password_hash, totp_sealed, totp_last_step, failed_sign_ins, \
         last_failed_at, paused_until, last_sign_in_at, created_at, disabled_at, external_id, provider_groups"
    };
}

/// One account.
pub(crate) const SELECT_ONE: &str = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");

/// Every account, by id.
pub(crate) const SELECT_ALL: &str = concat!("SELECT ", columns!(), " FROM users ORDER BY id");

/// Adds an account, or changes what an admin changes of it: not its password or code (changed
/// only by [`SET_PASSWORD`] and [`SET_TOTP`], so a change made meanwhile is never written back)
/// nor its sign-in counts.
pub(crate) const UPSERT: &str = concat!(
    "INSERT INTO users (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
     ON CONFLICT (id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email, \
     kind = excluded.kind, source = excluded.source, role = excluded.role, disabled_at = excluded.disabled_at, \
     external_id = excluded.external_id, provider_groups = excluded.provider_groups"
);

/// Adds an account unless one has its id.
pub(crate) const INSERT_NEW: &str = concat!(
    "INSERT INTO users (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (id) DO NOTHING"
);

/// Sets (or removes) an account's password hash.
pub(crate) const SET_PASSWORD: &str = "UPDATE users SET password_hash = $2 WHERE id = $1";

/// Sets (or removes) an account's sealed one-time-code secret.
pub(crate) const SET_TOTP: &str = "UPDATE users SET totp_sealed = $2 WHERE id = $1";

/// Takes a sign-in try before the password is checked, unless the account is paused at `$2`:
/// gives the tries in a row, this one included (no row: paused, or no such account). The try
/// that reaches `$3` in a row pauses the account until `$4` in the same statement, so no try
/// sent meanwhile slips past.
pub(crate) const RESERVE: &str = "UPDATE users SET failed_sign_ins = failed_sign_ins + 1, last_failed_at = $2, \
     paused_until = CASE WHEN failed_sign_ins + 1 >= $3 THEN $4 ELSE paused_until END \
     WHERE id = $1 AND (paused_until IS NULL OR paused_until <= $2) RETURNING failed_sign_ins";

/// Pauses an account's sign-ins until `$2` (never shortening a pause).
pub(crate) const PAUSE: &str =
    "UPDATE users SET paused_until = $2 WHERE id = $1 AND (paused_until IS NULL OR paused_until < $2)";

/// Records a sign-in: the count of wrong ones starts again.
pub(crate) const SIGNED_IN: &str = "UPDATE users SET failed_sign_ins = 0, last_failed_at = NULL, paused_until = NULL, \
     last_sign_in_at = $2 WHERE id = $1";

/// Takes a one-time code's time step, once: a later step only.
pub(crate) const CLAIM_STEP: &str =
    "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)";

/// Ends every UI session of a user (a password changed, the account disabled).
pub(crate) const DELETE_SESSIONS: &str = "DELETE FROM ui_sessions WHERE user_id = $1";

/// Brings an account up to date at a sign-in through its identity provider: only while it is
/// still that provider's person (`$2`) and not disabled, so a disable made meanwhile stands.
/// `$6` says whether the role is set (to `$7`) or kept.
pub(crate) const REFRESH_SIGNED_IN: &str = "UPDATE users SET display_name = $3, email = $4, provider_groups = $5, \
     role = CASE WHEN $6 THEN $7 ELSE role END WHERE id = $1 AND external_id = $2 AND disabled_at IS NULL";

/// Gives an account an admin made for a provider (`external_id` = `$4`, `PROVIDER:`) to the
/// person who first signs in through it.
pub(crate) const CLAIM_ACCOUNT: &str = "UPDATE users SET external_id = $2, source = $3 \
     WHERE id = $1 AND external_id = $4 AND disabled_at IS NULL";

/// Records when a token was last used.
pub(crate) const TOUCH_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1";

/// `groups` as stored: one per line.
pub(crate) fn groups_text(groups: &[String]) -> String {
    groups.iter().filter(|g| !g.is_empty() && !g.contains('\n')).cloned().collect::<Vec<_>>().join("\n")
}

/// Groups as [`groups_text`] stored them.
pub(crate) fn groups_of(text: &str) -> Vec<String> {
    text.lines().filter(|g| !g.is_empty()).map(str::to_string).collect()
}

/// What a sign-in through an identity provider changes of its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRefresh {
    /// The account.
    pub id: String,
    /// Who the provider says it is (the account must still be theirs).
    pub external_id: String,
    /// A name to show.
    pub display_name: String,
    /// Its email.
    pub email: String,
    /// Its groups now.
    pub groups: Vec<String>,
    /// Its role everywhere, when the provider decides it (`Some(None)`: none).
    pub role: Option<Option<String>>,
}
