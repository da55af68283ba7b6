//! JOIN: waits for the tasks it joins on (`joinOn`), the branches of the fork before it; it is
//! completed by `run_join` in the interpreter once they have.

use serde_json::json;

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::interpreter::run::Run;

/// Nothing to do but wait: the tasks it joins on recover on their own.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// The references it waits for (checked with the workflow's other references).
    pub(crate) fn build_join(&mut self, raw: &TaskConfig, _path: &str) -> Option<TaskKind> {
        Some(TaskKind::Join { join_on: raw.join_on.clone() })
    }
}

impl Run<'_, '_> {
    /// Records what it waits for as its input.
    pub(crate) fn start_join(&mut self, i: usize, join_on: &[String]) {
        self.inst.tasks[i].input_data = json!({"joinOn": join_on});
    }
}
