//! HUMAN: waits to be completed by a person (or any system): a raised event or a task update.

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::interpreter::run::Run;

/// Nothing to do but wait.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Waiting;

impl Builder {
    /// Nothing to check: its input is shown to whoever completes it.
    pub(crate) fn build_human(&mut self, _raw: &TaskConfig, _path: &str) -> Option<TaskKind> {
        Some(TaskKind::Human)
    }
}

impl Run<'_, '_> {
    /// Waits; an event raised earlier completes it at once.
    pub(crate) fn start_human(&mut self, i: usize) {
        self.take_raised(i);
    }
}
