//! Tries on names that are no account, paced as an account's tries are ([`super::pause_ms`]), so
//! that the pause does not tell which names are accounts: six wrong tries on any name get the same
//! answers, whether it exists or not. Kept in memory on each node, for at most [`MAX_NAMES`]
//! names (an account's tries are in the store, on every node).

use std::collections::HashMap;
use std::sync::Mutex;

use vigil_core::time::Millis;

use super::{SignInError, pause_ms};

/// Names kept at most; when full, names whose pause is over are forgotten first.
pub const MAX_NAMES: usize = 10_000;

/// The tries on names that are no account: a name's tries in a row and the end of its pause.
#[derive(Debug, Default)]
pub struct DecoyTries {
    names: Mutex<HashMap<String, (u32, Millis)>>,
}

impl DecoyTries {
    /// Takes a try on `name` at `now`, as [`super::take_try`] takes one on an account: refused
    /// while the name is paused, and the try that reaches the pause pauses it.
    pub fn take(&self, name: &str, now: Millis) -> Result<(), SignInError> {
        let mut names = self.names.lock().expect("lock");
        if names.len() >= MAX_NAMES && !names.contains_key(name) {
            names.retain(|_, (_, until)| *until > now);
            if names.len() >= MAX_NAMES {
                names.clear();
            }
        }
        let (tries, until) = names.entry(name.to_string()).or_insert((0, 0));
        if *until > now {
            return Err(SignInError::Paused(((*until - now).max(1000) as u64).div_ceil(1000)));
        }
        *tries += 1;
        if let Some(ms) = pause_ms(*tries) {
            *until = now + ms;
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
        for n in 0..MAX_NAMES + 10 {
            decoys.take(&format!("n{n}"), 0).unwrap();
        }
        assert!(decoys.names.lock().unwrap().len() <= MAX_NAMES);
    }
}
