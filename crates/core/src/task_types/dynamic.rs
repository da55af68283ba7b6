//! DYNAMIC (Conductor's): runs the worker task whose name is in its input
//! (`dynamicTaskNameParam`); `interpreter::dynamic` makes that task, which stands in for it.

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// It stands in for the task it makes, which recovers as its own type.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `dynamicTaskNameParam`, the input parameter that names the task.
    pub(crate) fn build_dynamic(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        match &raw.dynamic_task_name_param {
            Some(param) if !param.trim().is_empty() => Some(TaskKind::Dynamic { name_param: param.clone() }),
            _ => {
                self.problems.push(Problem::error(
                    join_key(path, "dynamicTaskNameParam"),
                    "a DYNAMIC task needs `dynamicTaskNameParam`, the input parameter that names the task to run",
                ));
                None
            }
        }
    }
}

impl Run<'_, '_> {
    /// Reached only when the task it names can no longer be made.
    pub(crate) fn start_dynamic(&mut self, i: usize) {
        let reason = "the task this DYNAMIC task named could not be made".to_string();
        self.fail(i, reason, TaskStatus::FailedWithTerminalError)
    }
}
