//! Single sign-on through OpenID Connect: the protocol's parts that know nothing of pages. The
//! sign-in pages that use them are [`crate::ui`]'s `sso` module.
//!
//! - [`id_token`] verifies an ID token's signature and claims;
//! - [`provider`] reads a provider's discovery document and keys, and exchanges a code;
//! - [`account`] finds or creates the account a verified sign-in stands for.

pub mod account;
pub mod id_token;
pub mod ldap;
pub mod provider;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use sha2::{Digest, Sha256};

/// How long a sign-in sent to a provider may take to come back.
pub const PENDING_SECONDS: i64 = 600;

/// 32 random bytes, base64url: a `state`, a `nonce`, a PKCE verifier (43 characters, as RFC
/// 7636 asks) or a binding cookie.
pub fn random_value() -> String {
    URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>())
}

/// The PKCE `S256` challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// What the store keeps of a `state` or a binding cookie: its SHA-256, hex.
pub fn digest(value: &str) -> String {
    crate::auth::hex(&Sha256::digest(value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let (a, b) = (random_value(), random_value());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }
}
