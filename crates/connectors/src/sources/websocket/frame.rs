//! The WebSocket handshake and frames (RFC 6455), pure: the upgrade request, the accept key the
//! server must answer with, a masked frame from the client, and frames read back.

use base64::Engine;
use sha1::Digest;

/// RFC 6455's GUID, appended to the key before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn accept_key(key: &str) -> String {
    let digest = sha1::Sha1::digest(format!("{key}{GUID}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The upgrade request for `path` on `host`, with `key` and extra `headers`.
pub fn upgrade_request(host: &str, path: &str, key: &str, headers: &[(String, String)]) -> String {
    let mut out = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: vigil\r\n"
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out + "\r\n"
}

/// Frame opcodes.
pub const TEXT: u8 = 1;
pub const BINARY: u8 = 2;
pub const CLOSE: u8 = 8;
pub const PING: u8 = 9;
pub const PONG: u8 = 10;
pub const CONTINUATION: u8 = 0;

/// A final client frame of `opcode` carrying `payload`, masked with `mask` (clients must mask).
pub fn client_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xFFFF => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// A frame's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last frame of its message.
    pub fin: bool,
    /// What it carries.
    pub opcode: u8,
    /// Its mask, when masked.
    pub mask: Option<[u8; 4]>,
    /// The payload's length.
    pub len: u64,
    /// The head's own length.
    pub size: usize,
}

/// A frame's head; `None` while `bytes` do not hold it whole.
pub fn head(bytes: &[u8]) -> Option<Head> {
    let (b0, b1) = (*bytes.first()?, *bytes.get(1)?);
    let (fin, opcode, masked) = (b0 & 0x80 != 0, b0 & 0x0F, b1 & 0x80 != 0);
    let (len, mut at) = match b1 & 0x7F {
        126 => (u64::from(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?])), 4),
        127 => (u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?), 10),
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        let m: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(m)
    } else {
        None
    };
    Some(Head { fin, opcode, mask, len, size: at })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6455 section 1.3's example key and accept value.
    #[test]
    fn the_accept_key_is_rfc_6455s() {
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    /// RFC 6455 section 5.7's examples: a masked "Hello", and the heads of an unmasked one and
    /// of 256 and 65536 byte payloads.
    #[test]
    fn frames_are_laid_out_as_section_5_7_shows() {
        let hello = client_frame(TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(hello, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let h = |fin, opcode, mask, len, size| Some(Head { fin, opcode, mask, len, size });
        assert_eq!(head(&hello), h(true, TEXT, Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6));
        assert_eq!(head(&[0x81, 0x05, b'H']), h(true, TEXT, None, 5, 2));
        assert_eq!(head(&[0x01, 0x03]), h(false, TEXT, None, 3, 2), "a first fragment");
        assert_eq!(head(&[0x82, 0x7E, 0x01, 0x00]), h(true, BINARY, None, 256, 4));
        assert_eq!(head(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]), h(true, BINARY, None, 65536, 10));
        assert_eq!(head(&[0x82, 0x7E, 0x01]), None, "not whole yet");
        assert_eq!(client_frame(BINARY, &[0; 300], [0; 4])[1..4], [0xFE, 0x01, 0x2C]);
    }
}
