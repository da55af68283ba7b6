//! Alertmanager's model, as Prometheus and `amtool` speak it to vigil: label-set fingerprints,
//! label matchers and posted alerts; its configuration (routes, receivers, inhibition, time
//! intervals), its groups and what their notifications say. Pure: no IO, no clock.

mod alert;
pub mod config;
pub mod dispatch;
mod fingerprint;
pub mod gettable;
pub mod group;
mod lexer;
mod matcher;
pub mod notification;
pub mod request;
pub mod templates;

pub use alert::{Alert, parse_time, read_posted, read_posted_bytes};
pub use fingerprint::{fingerprint, fingerprint_hex};
pub use gettable::format_time;
pub use matcher::{MatchType, Matcher, all_match, matchers_from_json, parse_matcher, parse_matchers};
