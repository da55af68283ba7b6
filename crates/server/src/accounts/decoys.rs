//! Tries on names that are no account, paced as an account's tries are ([`super::pause_ms`]), so
//! that the pause does not tell which names are accounts: six wrong tries on any name get the same
//! answers, whether it exists or not. Kept in memory on each node, for at most [`MAX_NAMES`]
//! names that could be accounts ([`super::valid_name`]: 64 bytes at most); when full, the name
//! tried longest ago goes. (An account's tries are in the store, on every node: tries spread over
//! nodes, or more than [`MAX_NAMES`] names tried in between, still tell the two apart.)

use std::collections::HashMap;
use std::sync::Mutex;

use vigil_core::time::Millis;

use super::{SignInError, pause_ms};

/// Names kept at most; when full, the name tried longest ago is forgotten.
pub const MAX_NAMES: usize = 10_000;

/// A name's tries in a row, the end of its pause, and its last try.
#[derive(Debug, Default, Clone, Copy)]
struct Tries {
    count: u32,
    until: Millis,
    last: Millis,
}

/// The tries on names that are no account.
#[derive(Debug, Default)]
pub struct DecoyTries {
    names: Mutex<HashMap<String, Tries>>,
}

impl DecoyTries {
    /// Takes a try on `name` at `now`, as [`super::take_try`] takes one on an account: refused
    /// while the name is paused, and the try that reaches the pause pauses it.
    pub fn take(&self, name: &str, now: Millis) -> Result<(), SignInError> {
        let mut names = self.names.lock().expect("lock");
        if names.len() >= MAX_NAMES && !names.contains_key(name) {
            let oldest = names.iter().min_by_key(|(_, t)| t.last).map(|(n, _)| n.clone());
            if let Some(oldest) = oldest {
                names.remove(&oldest);
            }
        }
        let tries = names.entry(name.to_string()).or_default();
        if tries.until > now {
            return Err(SignInError::Paused(((tries.until - now).max(1000) as u64).div_ceil(1000)));
        }
        tries.count += 1;
        tries.last = now;
        if let Some(ms) = pause_ms(tries.count) {
            tries.until = now + ms;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::FREE_FAILURES;

    #[test]
    fn a_name_that_is_no_account_is_paused_as_an_account_would_be() {
        let decoys = DecoyTries::default();
        for _ in 0..FREE_FAILURES {
            assert!(decoys.take("ghost", 0).is_ok());
        }
        assert!(matches!(decoys.take("ghost", 500), Err(SignInError::Paused(1))), "paused after the free tries");
        assert!(decoys.take("other", 500).is_ok(), "per name");
        assert!(decoys.take("ghost", 1_000).is_ok(), "the pause ends");
        assert!(matches!(decoys.take("ghost", 1_001), Err(SignInError::Paused(2))), "and doubles");
    }

    #[test]
    fn it_keeps_a_bounded_number_of_names() {
        let decoys = DecoyTries::default();
        decoys.take("first", 0).unwrap();
        decoys.take("kept", 1).unwrap();
        for n in 0..MAX_NAMES - 2 {
            decoys.take(&format!("n{n}"), 2).unwrap();
        }
        decoys.take("kept", 3).unwrap();
        decoys.take("last", 4).unwrap();
        let names = decoys.names.lock().unwrap();
        assert_eq!(names.len(), MAX_NAMES);
        assert!(!names.contains_key("first"), "the name tried longest ago goes");
        assert_eq!(names["kept"].count, 2, "a name tried since stays");
    }
}
