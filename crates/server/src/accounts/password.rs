//! Local passwords: Argon2id (19 MiB, 2 passes, OWASP's first choice), a random salt each, stored
//! as a PHC string. Hashing is memory-hard on purpose, so at most [`AT_ONCE`] run at a time, on
//! the blocking pool: a flood of sign-ins waits in line instead of taking the node's memory.

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::Rng;
use tokio::sync::Semaphore;

/// Hashes computed at once on a node.
pub const AT_ONCE: usize = 2;
/// The shortest password taken.
pub const MIN_CHARS: usize = 10;
/// The longest (in bytes): hashing a megabyte is not a password.
pub const MAX_BYTES: usize = 1024;

static HASHING: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(AT_ONCE));

/// A hash of nothing anyone's password hashes to, checked when the account does not exist, so
/// an unknown name takes as long as a wrong password.
static DECOY: LazyLock<String> = LazyLock::new(|| hash_now(&rand::rng().random::<[u8; 16]>().map(|b| b % 26 + b'a')));

/// Why a password is not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Weak {
    /// Too short.
    #[error("a password needs at least {MIN_CHARS} characters")]
    Short,
    /// Too long.
    #[error("a password may have at most {MAX_BYTES} bytes")]
    Long,
}

/// Refuses a password too short or too long to be one.
pub fn check_strength(password: &str) -> Result<(), Weak> {
    if password.chars().count() < MIN_CHARS {
        return Err(Weak::Short);
    }
    if password.len() > MAX_BYTES {
        return Err(Weak::Long);
    }
    Ok(())
}

fn hash_now(password: &[u8]) -> String {
    let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>()).expect("16 bytes is a valid salt");
    Argon2::default().hash_password(password, &salt).expect("Argon2's defaults hash any input").to_string()
}

fn verify_now(stored: &str, password: &[u8]) -> bool {
    PasswordHash::new(stored).is_ok_and(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
}

/// The stored form of `password`.
pub async fn hash(password: &str) -> String {
    let _turn = HASHING.acquire().await.expect("the semaphore is never closed");
    let password = password.as_bytes().to_vec();
    tokio::task::spawn_blocking(move || hash_now(&password)).await.expect("hashing does not panic")
}

/// Whether `password` matches `stored`; with no stored hash, a decoy is checked and the answer
/// is no (the same time either way).
pub async fn verify(stored: Option<&str>, password: &str) -> bool {
    let _turn = HASHING.acquire().await.expect("the semaphore is never closed");
    let known = stored.is_some();
    let stored = stored.map_or_else(|| DECOY.clone(), str::to_string);
    let password = password.as_bytes().to_vec();
    let matches = tokio::task::spawn_blocking(move || verify_now(&stored, &password)).await.unwrap_or(false);
    known && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let stored = hash("correct horse battery").await;
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(!stored.contains("correct"));
        assert!(verify(Some(&stored), "correct horse battery").await);
        assert!(!verify(Some(&stored), "correct horse batterY").await);
        assert!(!verify(None, "correct horse battery").await, "no account");
        assert!(!verify(Some("not a hash"), "x").await);
        assert_ne!(hash("correct horse battery").await, stored, "salted");
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert_eq!(check_strength("short"), Err(Weak::Short));
        assert_eq!(check_strength(&"x".repeat(2000)), Err(Weak::Long));
        assert!(check_strength("ten chars!").is_ok());
    }
}
