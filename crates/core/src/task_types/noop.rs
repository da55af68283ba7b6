//! NOOP: does nothing and completes (a placeholder, e.g. an empty SWITCH case).

use serde_json::json;

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::interpreter::run::Run;

/// It completes in the step that starts it, which commits as one: it is never left in progress.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// Nothing to check.
    pub(crate) fn build_noop(&mut self, _raw: &TaskConfig, _path: &str) -> Option<TaskKind> {
        Some(TaskKind::Noop)
    }
}

impl Run<'_, '_> {
    /// Completes with `{}`.
    pub(crate) fn start_noop(&mut self, i: usize) {
        self.complete(i, json!({}));
    }
}
