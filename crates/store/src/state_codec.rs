//! Ended instances' states, compressed: a 3-task instance's 2 KB of JSON deflates to about 800
//! bytes, so four rows share a 4 KB SQLite page instead of one (PostgreSQL's TOAST would start
//! compressing only past 2 KB). Running instances are rewritten at every step and stay plain
//! JSON; an instance is compressed once, by its final commit, on the shard thread that
//! serializes it (not on the store's single writer).
//!
//! A compressed row has an empty `state` and the deflated JSON in `state_z`.

use crate::{Result, StoreError};

/// States at least this long are compressed when their instance has ended.
pub const COMPRESS_FROM: usize = 1_024;

/// Deflate level: 1 is about as small as 6 on JSON this size, at two thirds of the time.
const LEVEL: u8 = 1;

/// Deflates a state.
pub fn compress(json: &str) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(json.as_bytes(), LEVEL)
}

/// The JSON of a row: `state` itself, or `state_z` inflated.
pub fn state_of(state: String, state_z: Option<Vec<u8>>) -> Result<String> {
    match state_z {
        None => Ok(state),
        Some(z) => {
            let bytes = miniz_oxide::inflate::decompress_to_vec(&z)
                .map_err(|e| StoreError::Corrupt(format!("compressed instance state: {e}")))?;
            String::from_utf8(bytes).map_err(|e| StoreError::Corrupt(format!("compressed instance state: {e}")))
        }
    }
}

/// Whether a row's state holds `text`, ignoring ASCII case (the text filter, for rows whose state
/// the database cannot search because it is compressed).
pub fn holds(state_z: &[u8], text: &str) -> bool {
    let Ok(bytes) = miniz_oxide::inflate::decompress_to_vec(state_z) else { return false };
    let needle = text.to_ascii_lowercase();
    bytes.to_ascii_lowercase().windows(needle.len().max(1)).any(|w| w == needle.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_and_reads_back_and_searches() {
        let json = format!(r#"{{"workflowId":"abc","tasks":[{}]}}"#, r#"{"status":"COMPLETED","x":1},"#.repeat(60));
        let z = compress(&json);
        assert!(z.len() * 4 < json.len(), "{} of {}", z.len(), json.len());
        assert_eq!(state_of(String::new(), Some(z.clone())).unwrap(), json);
        assert_eq!(state_of(json.clone(), None).unwrap(), json);
        assert!(holds(&z, "WORKFLOWID\":\"ABC"));
        assert!(!holds(&z, "nothing like it"));
        assert!(state_of(String::new(), Some(b"not deflate".to_vec())).is_err());
    }
}
