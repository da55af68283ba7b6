//! What every source folder provides: its settings as written ([`SourceConfig`]), turned once
//! into the source that runs ([`SourceConfig::Built`]), which is asked ([`Ask`]).

use std::future::Future;

use serde::de::DeserializeOwned;
use vigil_core::monitor::evaluate::Answer;
use vigil_core::time::Millis;

use super::SourceProblem;

/// A source's settings as a monitor writes them under `source: {<name>: ...}`
/// (`deny_unknown_fields`), and how they become the source that runs.
pub trait SourceConfig: DeserializeOwned {
    /// The source as it runs: addresses, durations, conditions and statements parsed once, when
    /// the monitor loads, never per check.
    type Built;

    /// Checks the settings and builds the source to run. `vigil validate` builds it as the
    /// runtime does, but before credentials (`${workflow.secrets.X}`, `${env.X}`) are
    /// substituted: a field that still holds a reference is taken on trust, and a check that
    /// reaches it fails, naming the reference.
    fn build(self) -> Result<Self::Built, SourceProblem>;
}

/// Asking a built source once.
pub trait Ask {
    /// Asks and reads the answer; `now` is the engine's clock, for sources that judge time
    /// (a job's latency, an email's deadline). A failed call is an [`Answer::Failed`] naming
    /// the server and the reason, never a credential. A source whose call holds more state than
    /// a plain HTTP check (a database or IMAP session, reqwest) boxes it, so asking an HTTP
    /// check stays small.
    fn ask(&self, client: &reqwest::Client, now: Millis) -> impl Future<Output = Answer> + Send;

    /// The conditions a check in Gatus' style is judged by; `vigil test` judges canned answers
    /// with them, as a live check would be. `None` for sources judged by thresholds alone.
    fn judge(&self) -> Option<&super::conditions::Judge> {
        None
    }
}
