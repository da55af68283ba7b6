//! What every notifier type provides. A type implements [`Notifier`] in its own folder and is
//! listed once in `notifiers!` (in `mod.rs`); the enum, the `type:` names, reading a file and
//! every dispatch follow from that line.

use std::time::Duration;

use serde::de::DeserializeOwned;
use vigil_core::time::Millis;

use super::{AlertMessage, NotifyError, Outcome, OutgoingRequest, classify_http};

/// A notifier type: its config as written in `<config>/notifiers/NAME.yaml`, and how it talks to
/// its provider.
pub trait Notifier: DeserializeOwned {
    /// Its `type:` name.
    const TYPE: &'static str;
    /// The provider's documented rate limit, as (events per minute, burst); `None`: unlimited.
    const RATE_LIMIT: Option<(f64, f64)>;
    /// The fields that carry a credential: the importers (`vigil import alertmanager`, `gatus`)
    /// move their values to secrets.
    const SECRETS: &'static [&'static str] = &[];

    /// The name it was given.
    fn name(&self) -> &str;

    /// A problem serde cannot see (a webhook's templates), as (field path, message, hint).
    fn problem(&self) -> Option<(String, String, Option<String>)> {
        None
    }

    /// The provider's request for `msg`; `now` is the send time (Lark signs it).
    fn request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError>;

    /// Most notifications one request may carry.
    fn max_batch(&self) -> usize {
        1
    }

    /// One request for all of `msgs` (at most [`Notifier::max_batch`], more than one).
    fn batch_request(&self, _msgs: &[AlertMessage], _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        Err(NotifyError::Invalid(format!("`{}` takes one notification per request", self.name())))
    }

    /// Reads the provider's answer.
    fn classify(&self, status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
        classify_http(status, retry_after, body)
    }
}
