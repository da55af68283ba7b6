//! Signed acknowledgement links: a notification carries a link that acknowledges its alert
//! without an API token (an email, a Slack or Lark message, a Teams card's button). The link
//! names the alert and the incident (when it started firing), expires, and is signed with the
//! cluster's signing key ([`vigil_store::SecretBox::sign`]), so any node verifies it, nobody can
//! forge one for another alert, and last week's link does not acknowledge today's incident.
//!
//! A token reads `<key, base64url>.<firing since, ms>.<expires, ms>.<signature, base64url>`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use vigil_core::time::Millis;
use vigil_store::SecretBox;

/// How long a link acknowledges.
pub const VALID_FOR: Millis = 7 * 24 * 3_600_000;

/// Makes the links of one server.
#[derive(Clone)]
pub struct AckLinks {
    /// The server's public URL, without a trailing `/`.
    base: String,
    sealer: Arc<SecretBox>,
}

/// What a good token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The alert's dedup key.
    pub dedup_key: String,
    /// When the incident it acknowledges started firing.
    pub firing_since: Millis,
}

/// Why a token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Not a token, or not signed by this cluster.
    #[error("this acknowledgement link is not valid")]
    Invalid,
    /// Past its expiry.
    #[error("this acknowledgement link has expired")]
    Expired,
}

fn signed_part(key: &str, firing_since: Millis, expires: Millis) -> String {
    format!("vigil-ack\0{key}\0{firing_since}\0{expires}")
}

/// The token for the incident of `key` that started firing at `firing_since`, valid until
/// `expires`.
pub fn token(sealer: &SecretBox, key: &str, firing_since: Millis, expires: Millis) -> String {
    let sig = sealer.sign(signed_part(key, firing_since, expires).as_bytes());
    format!("{}.{firing_since}.{expires}.{}", B64.encode(key), B64.encode(sig))
}

/// Reads and checks `token` at `now`.
pub fn verify(sealer: &SecretBox, token: &str, now: Millis) -> Result<Claim, LinkError> {
    let mut parts = token.split('.');
    let (Some(key), Some(since), Some(expires), Some(sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(LinkError::Invalid);
    };
    let key = B64.decode(key).ok().and_then(|k| String::from_utf8(k).ok()).ok_or(LinkError::Invalid)?;
    let since: Millis = since.parse().map_err(|_| LinkError::Invalid)?;
    let expires: Millis = expires.parse().map_err(|_| LinkError::Invalid)?;
    let sig = B64.decode(sig).map_err(|_| LinkError::Invalid)?;
    if !sealer.verify(signed_part(&key, since, expires).as_bytes(), &sig) {
        return Err(LinkError::Invalid);
    }
    if now > expires {
        return Err(LinkError::Expired);
    }
    Ok(Claim { dedup_key: key, firing_since: since })
}

impl AckLinks {
    /// Links to `public_url`, signed by `sealer`.
    pub fn new(public_url: &str, sealer: Arc<SecretBox>) -> Self {
        Self { base: public_url.trim_end_matches('/').to_string(), sealer }
    }

    /// The link acknowledging the incident of `key` that started firing at `firing_since`,
    /// made at `now`.
    pub fn link(&self, key: &str, firing_since: Millis, now: Millis) -> String {
        format!("{}/ack/{}", self.base, token(&self.sealer, key, firing_since, now + VALID_FOR))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_for_its_incident_until_it_expires() {
        let sealer = SecretBox::new([3; 32]);
        let t = token(&sealer, "monitor/api{env=prod}", 1_000, 5_000);
        assert_eq!(
            verify(&sealer, &t, 4_000),
            Ok(Claim { dedup_key: "monitor/api{env=prod}".into(), firing_since: 1_000 })
        );
        assert_eq!(verify(&sealer, &t, 5_001), Err(LinkError::Expired));
        assert_eq!(verify(&SecretBox::new([4; 32]), &t, 4_000), Err(LinkError::Invalid), "another cluster's key");
    }

    #[test]
    fn a_changed_token_is_refused() {
        let sealer = SecretBox::new([3; 32]);
        let t = token(&sealer, "a", 1_000, 5_000);
        let parts: Vec<&str> = t.split('.').collect();
        let other_key = format!("{}.{}.{}.{}", B64.encode("b"), parts[1], parts[2], parts[3]);
        let other_incident = format!("{}.2000.{}.{}", parts[0], parts[2], parts[3]);
        let longer = format!("{}.{}.9999999.{}", parts[0], parts[1], parts[3]);
        for bad in [other_key.as_str(), &other_incident, &longer, "a.b.c", "", &format!("{t}.x")] {
            assert_eq!(verify(&sealer, bad, 4_000), Err(LinkError::Invalid), "{bad}");
        }
    }

    #[test]
    fn links_point_at_the_public_url() {
        let links = AckLinks::new("https://vigil.example/", Arc::new(SecretBox::new([3; 32])));
        let link = links.link("k", 1, 2);
        assert!(link.starts_with("https://vigil.example/ack/"), "{link}");
        let token = link.rsplit('/').next().unwrap();
        assert!(verify(&SecretBox::new([3; 32]), token, 3).is_ok());
    }
}
