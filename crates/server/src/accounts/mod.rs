//! Accounts: people who sign in (a local password with an optional one-time code, or single
//! sign-on) and service accounts that only hold tokens. An account has a role everywhere (or
//! none); a token that belongs to it never does more than the account may at the moment it is
//! used, and stops working when the account is disabled.
//!
//! Wrong passwords are paced per account, in the store (so on every node): each try is taken
//! (counted) before its password is checked, and a success clears the count, so tries sent all
//! at once are counted too; from the [`FREE_FAILURES`]th try in a row the account is paused
//! before its password is checked, for twice as long each try, up to [`MAX_PAUSE_SECONDS`]. The
//! sign-in page paces each source address as well ([`crate::throttle`]). Every answer to a wrong
//! name, password or code is the same sentence, and a name that is no account is paused as an
//! account would be ([`decoys`]), so neither the answer nor the pause tells which names exist.

pub(crate) mod audit_log;
pub mod decoys;
pub mod password;
pub mod totp;
pub(crate) mod users;

use vigil_core::principal::Role;
use vigil_core::time::Millis;
use vigil_store::{AccountStore, SecretBox, StoreError, UserRow};

/// Wrong passwords or codes an account may get in a row before it must wait.
pub const FREE_FAILURES: u32 = 5;
/// The longest wait between tries on one account.
pub const MAX_PAUSE_SECONDS: u64 = 15 * 60;

/// `person`: signs in.
pub const PERSON: &str = "person";
/// `service`: holds tokens, never signs in.
pub const SERVICE: &str = "service";

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// A wrong name, password or code, or an account that cannot sign in: one answer for all.
    #[error("wrong name, password or one-time code")]
    Wrong,
    /// The password was right and the account has a one-time code: it must come too.
    #[error("this account needs its one-time code")]
    CodeNeeded,
    /// Too many wrong tries on this account lately.
    #[error("too many wrong tries for this account: try again in {0} s")]
    Paused(u64),
    /// No directory could be asked (LDAP).
    #[error("the directory cannot be reached")]
    Directory,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An account's name as stored: trimmed, lower case.
pub fn normalize(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Whether `name` may name an account: 1–64 of `a-z 0-9 . _ @ -`, starting with a letter or digit.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._@-".contains(c))
}

/// The account's role, if it has one it can use now (none when disabled).
pub fn role_of(user: &UserRow) -> Option<Role> {
    if user.disabled_at.is_some() {
        return None;
    }
    user.role.as_deref().and_then(Role::parse)
}

/// How long an account is paused from its `tries`th try in a row (`None`: not paused).
pub fn pause_ms(tries: u32) -> Option<Millis> {
    let doublings = tries.checked_sub(FREE_FAILURES)?.min(20);
    Some((1i64 << doublings).min(MAX_PAUSE_SECONDS as i64) * 1000)
}

/// What a person types to sign in.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    /// The account's name.
    pub name: &'a str,
    /// The password.
    pub password: &'a str,
    /// The one-time code, if one was typed.
    pub code: Option<&'a str>,
}

/// Takes a try on account `user` and checks `password` against it: paused accounts are refused
/// before their password is checked, and a try that reaches the pause pauses the account before
/// its check, so tries sent at once cannot all be checked. A success does not clear the count:
/// the caller does, once everything it checks passed ([`Store::user_signed_in`]).
pub async fn check_password(
    store: &dyn AccountStore,
    user: &UserRow,
    password: &str,
    now: Millis,
) -> Result<(), SignInError> {
    take_try(store, user, now).await?;
    let can_sign_in = user.kind == PERSON && user.disabled_at.is_none();
    let stored = user.password_hash.as_deref().filter(|_| can_sign_in);
    if password::verify(stored, password).await { Ok(()) } else { Err(SignInError::Wrong) }
}

/// Takes a sign-in try on `user` before its password is checked (here or by a directory):
/// refused while the account is paused, and the try that reaches the pause pauses it first.
pub async fn take_try(store: &dyn AccountStore, user: &UserRow, now: Millis) -> Result<(), SignInError> {
    let first_pause = now + pause_ms(FREE_FAILURES).unwrap_or(1000);
    let Some(tries) = store.reserve_sign_in(&user.id, now, FREE_FAILURES, first_pause).await? else {
        let wait = user.paused_until.map_or(1, |until| ((until - now).max(1000) as u64).div_ceil(1000));
        return Err(SignInError::Paused(wait));
    };
    if let Some(ms) = pause_ms(tries).filter(|ms| now + ms > first_pause) {
        store.pause_sign_ins(&user.id, now + ms).await?;
    }
    Ok(())
}

/// Checks a local sign-in: the account's try taken and its password checked
/// ([`check_password`]; a decoy for names that are not accounts, so they take as long), then
/// its one-time code, taking the code's step once. Only a full success clears the tries.
pub async fn sign_in(
    store: &dyn AccountStore,
    sealer: Option<&SecretBox>,
    decoys: &decoys::DecoyTries,
    typed: Credentials<'_>,
    now: Millis,
) -> Result<UserRow, SignInError> {
    let id = normalize(typed.name);
    let Some(user) = store.user(&id).await? else {
        // A name that can be no account is never one: it is not kept.
        if valid_name(&id) {
            decoys.take(&id, now)?;
        }
        password::verify(None, typed.password).await;
        return Err(SignInError::Wrong);
    };
    check_password(store, &user, typed.password, now).await?;
    if let Some(sealed) = &user.totp_sealed {
        let Some(code) = typed.code.filter(|c| !c.trim().is_empty()) else { return Err(SignInError::CodeNeeded) };
        let secret = sealer.ok_or(SignInError::Wrong)?.open_text(sealed).ok().and_then(|s| totp::from_base32(&s));
        let step = secret.and_then(|s| totp::matching_step(&s, code, now));
        let taken = match step {
            Some(step) => store.claim_totp_step(&id, step).await?,
            None => false,
        };
        if !taken {
            return Err(SignInError::Wrong);
        }
    }
    store.user_signed_in(&id, now).await?;
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_to_a_safe_alphabet() {
        assert!(valid_name("ana.lima@example.com") && valid_name("ci-bot_2"));
        assert!(!valid_name("") && !valid_name("-x") && !valid_name("Ana") && !valid_name("a b") && !valid_name("a/b"));
        assert_eq!(normalize("  Ana@Example.COM "), "ana@example.com");
    }

    #[test]
    fn the_pause_doubles_after_the_free_tries_up_to_its_cap() {
        assert_eq!(pause_ms(FREE_FAILURES - 1), None);
        assert_eq!(pause_ms(FREE_FAILURES), Some(1_000));
        assert_eq!(pause_ms(FREE_FAILURES + 3), Some(8_000));
        assert_eq!(pause_ms(FREE_FAILURES + 40), Some(MAX_PAUSE_SECONDS as i64 * 1000));
    }

    #[test]
    fn a_disabled_account_has_no_role() {
        let u = UserRow { role: Some("editor".into()), ..UserRow::default() };
        assert_eq!(role_of(&u), Some(Role::Write));
        assert_eq!(role_of(&UserRow { disabled_at: Some(1), ..u }), None);
    }
}
