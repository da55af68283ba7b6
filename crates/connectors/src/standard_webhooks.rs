//! Signing as the Standard Webhooks specification says (standardwebhooks.com, used by Svix and
//! others): the receiver checks `webhook-signature` against an HMAC-SHA256, under the shared
//! secret, of `{webhook-id}.{webhook-timestamp}.{body}`, and refuses a timestamp too old, so a
//! captured request cannot be replayed later. The secret is written `whsec_` and its bytes in
//! base64.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A secret's text (`whsec_...`) for `bytes`.
pub fn secret_text(bytes: &[u8]) -> String {
    format!("whsec_{}", B64.encode(bytes))
}

/// The secret's bytes from its text; `None` when it is not `whsec_` and base64.
pub fn secret_bytes(text: &str) -> Option<Vec<u8>> {
    B64.decode(text.strip_prefix("whsec_")?).ok()
}

/// The `webhook-signature` header's value for message `id` sent at `timestamp` (seconds) with
/// `body`.
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the specification's reference libraries.
    #[test]
    fn signs_the_specifications_example() {
        let secret = secret_bytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, r#"{"test": 2432232314}"#);
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(secret_text(&secret), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert!(secret_bytes("MfKQ9r8").is_none());
    }
}
