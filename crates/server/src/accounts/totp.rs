//! One-time codes (TOTP, RFC 6238): HMAC-SHA1 over 30-second steps, 6 digits, as every
//! authenticator app reads them from an `otpauth://` URI. A code is taken from the step before or
//! after as well (clocks drift), and each step only once (the store keeps the last one taken).

use ring::hmac;

/// Seconds per step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Bytes of a new secret (160 bits, as RFC 4226 recommends).
pub const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    use rand::Rng;
    rand::rng().random::<[u8; SECRET_BYTES]>().to_vec()
}

/// `secret` in base32 without padding, as authenticator apps take it.
pub fn base32(secret: &[u8]) -> String {
    let mut out = String::new();
    for chunk in secret.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(BASE32[((bits >> (35 - 5 * i)) & 31) as usize] as char);
        }
    }
    out
}

/// Reads base32 (any case, spaces and padding ignored).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = BASE32.iter().position(|b| *b as char == c.to_ascii_uppercase())? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The step that millisecond time `now` falls in.
pub fn step_at(now: i64) -> i64 {
    now.div_euclid(1000 * STEP_SECONDS)
}

/// The code of `step` (RFC 4226's dynamic truncation).
pub fn code(secret: &[u8], step: i64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let bin = u32::from_be_bytes([mac[offset] & 0x7f, mac[offset + 1], mac[offset + 2], mac[offset + 3]]);
    bin % 10u32.pow(DIGITS)
}

/// The step whose code `typed` is, among the one at `now` and its neighbours; `None` when it is
/// none of theirs. The caller still takes the step once.
pub fn matching_step(secret: &[u8], typed: &str, now: i64) -> Option<i64> {
    let typed = typed.trim().replace(' ', "");
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = typed.parse().ok()?;
    let here = step_at(now);
    [here, here - 1, here + 1].into_iter().find(|s| code(secret, *s) == typed)
}

/// The `otpauth://` URI an authenticator app adds the account from.
pub fn uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let esc = |s: &str| form_escape(s);
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        esc(issuer),
        esc(account),
        base32(secret),
        esc(issuer)
    )
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 rows, with the secret "12345678901234567890".
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let secret = b"12345678901234567890";
        for (seconds, eight_digits) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code(secret, seconds / 30), eight_digits % 1_000_000, "at {seconds} s");
        }
    }

    #[test]
    fn base32_roundtrips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw6ytboi======").unwrap(), b"foobar");
        let s = new_secret();
        assert_eq!(from_base32(&base32(&s)).unwrap(), s);
        assert_eq!(base32(&s).len(), 32);
        assert_eq!(from_base32("not base32!"), None);
    }

    #[test]
    fn a_code_is_taken_from_its_step_and_its_neighbours_only() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111_000;
        let here = step_at(now);
        let typed = |step: i64| format!("{:06}", code(secret, step));
        assert_eq!(matching_step(secret, &typed(here), now), Some(here));
        assert_eq!(matching_step(secret, &typed(here - 1), now), Some(here - 1));
        assert_eq!(matching_step(secret, &typed(here + 1), now), Some(here + 1));
        assert_eq!(matching_step(secret, &typed(here - 2), now), None);
        assert_eq!(matching_step(secret, "12345", now), None);
        assert_eq!(matching_step(secret, "abcdef", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_account() {
        let u = uri("vigil", "ana@example.com", b"foobar");
        assert_eq!(
            u,
            "otpauth://totp/vigil:ana%40example.com?secret=MZXW6YTBOI&issuer=vigil&algorithm=SHA1&digits=6&period=30"
        );
    }
}
