//! Secrets at rest: XChaCha20-Poly1305 with a random 24-byte nonce stored before the ciphertext.
//!
//! The key comes from `VIGIL_SECRET_KEY` (64 hex characters) or from a key file created on first
//! use with mode 0600.

use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::StoreError;

/// Seals and opens secret values, and signs what vigil hands out (acknowledgement links).
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
    /// A signing key derived from the sealing key: every node of a cluster shares it, and a
    /// signature never reveals the sealing key.
    mac_key: [u8; 32],
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(***)")
    }
}

impl SecretBox {
    /// A box for a 32-byte key.
    pub fn new(key: [u8; 32]) -> Self {
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&key).expect("HMAC takes any key length");
        derive.update(b"vigil signing key v1");
        Self { cipher: XChaCha20Poly1305::new(&key.into()), mac_key: derive.finalize().into_bytes().into() }
    }

    /// The HMAC-SHA256 of `data` under the signing key.
    pub fn sign(&self, data: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Whether `signature` is [`SecretBox::sign`]'s for `data` (compared in constant time).
    pub fn verify(&self, data: &[u8], signature: &[u8]) -> bool {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        mac.update(data);
        mac.verify_slice(signature).is_ok()
    }

    /// The key from `env_key` (hex) if given, else from `key_file`, created with mode 0600 if absent.
    pub fn load(env_key: Option<&str>, key_file: &Path) -> Result<Self, StoreError> {
        if let Some(hex) = env_key {
            return decode_hex_key(hex)
                .map(Self::new)
                .map_err(|e| StoreError::Secret(format!("VIGIL_SECRET_KEY: {e}")));
        }
        match std::fs::read_to_string(key_file) {
            Ok(text) => decode_hex_key(text.trim())
                .map(Self::new)
                .map_err(|e| StoreError::Secret(format!("{}: {e}", key_file.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rng().fill_bytes(&mut key);
                write_private(key_file, &encode_hex(&key))?;
                Ok(Self::new(key))
            }
            Err(e) => Err(StoreError::Io(format!("cannot read key file {}: {e}", key_file.display()))),
        }
    }

    /// Encrypts `plain`.
    pub fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(self.cipher.encrypt(&XNonce::from(nonce), plain).expect("encryption does not fail"));
        out
    }

    /// Encrypts text into hex text, for a column that holds text.
    pub fn seal_text(&self, plain: &str) -> String {
        encode_hex(&self.seal(plain.as_bytes()))
    }

    /// Decrypts what [`SecretBox::seal_text`] produced.
    pub fn open_text(&self, sealed: &str) -> Result<String, StoreError> {
        let bytes = decode_hex(sealed).map_err(StoreError::Secret)?;
        String::from_utf8(self.open(&bytes)?).map_err(|_| StoreError::Secret("a sealed text is not UTF-8".into()))
    }

    /// Decrypts what [`SecretBox::seal`] produced.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 24 {
            return Err(StoreError::Secret("sealed value is too short".into()));
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        self.cipher
            .decrypt(&XNonce::try_from(nonce).expect("24-byte nonce"), ciphertext)
            .map_err(|_| StoreError::Secret("cannot decrypt a secret: wrong VIGIL_SECRET_KEY or key file?".into()))
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), StoreError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(path).map_err(|e| StoreError::Io(format!("cannot create key file {}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| StoreError::Io(format!("cannot write key file {}: {e}", path.display())))
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err("an odd number of hex characters".into());
    }
    hex.as_bytes()
        .chunks(2)
        .map(|chunk| {
            let s = std::str::from_utf8(chunk).map_err(|_| "not hex".to_string())?;
            u8::from_str_radix(s, 16).map_err(|_| format!("`{s}` is not hex"))
        })
        .collect()
}

fn decode_hex_key(hex: &str) -> Result<[u8; 32], String> {
    if hex.len() != 64 {
        return Err(format!("expected 64 hex characters, got {}", hex.len()));
    }
    let bytes = decode_hex(hex)?;
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_roundtrip_and_wrong_key_fails() {
        let a = SecretBox::new([7; 32]);
        let sealed = a.seal(b"hunter2");
        assert!(!sealed.windows(7).any(|w| w == b"hunter2"));
        assert_eq!(a.open(&sealed).unwrap(), b"hunter2");
        let text = a.seal_text("route: {}");
        assert!(!text.contains("route") && a.open_text(&text).unwrap() == "route: {}");
        assert!(a.open_text("zz").is_err());
        assert!(SecretBox::new([8; 32]).open(&sealed).is_err());
    }

    #[test]
    fn signatures_verify_only_under_the_same_key_and_data() {
        let a = SecretBox::new([7; 32]);
        let sig = a.sign(b"ack key");
        assert!(a.verify(b"ack key", &sig));
        assert!(!a.verify(b"ack kez", &sig));
        assert!(!a.verify(b"ack key", &sig[..31]));
        assert!(!SecretBox::new([8; 32]).verify(b"ack key", &sig));
        assert_ne!(&sig[..], &[7u8; 32][..], "the sealing key is not the signing key");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigil.key");
        let sealed = SecretBox::load(None, &path).unwrap().seal(b"x");
        assert_eq!(SecretBox::load(None, &path).unwrap().open(&sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(SecretBox::load(Some("abc"), &path).unwrap_err().to_string().contains("64 hex"));
    }
}
