//! What every source does with an answer's body: cap its size, quote its start in an error.

/// Longest answer read from a source, so a runaway query cannot exhaust memory.
pub const MAX_ANSWER_BYTES: usize = 16 << 20;

/// The first bytes of an answer, for an error message.
pub(crate) fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string()
}
