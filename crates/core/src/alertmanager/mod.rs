//! Alertmanager's model, as Prometheus and `amtool` speak it to vigil: label-set fingerprints
//! and label matchers. Pure: no IO, no clock.

mod fingerprint;
mod lexer;
mod matcher;

pub use fingerprint::{fingerprint, fingerprint_hex};
pub use matcher::{MatchType, Matcher, all_match, parse_matcher, parse_matchers};
