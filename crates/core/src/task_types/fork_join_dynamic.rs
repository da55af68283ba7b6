//! FORK_JOIN_DYNAMIC: runs branches chosen at run time, each task of a list in its input
//! becoming a branch, joined by the JOIN that follows (`interpreter::dynamic` makes them).

use serde_json::json;

use super::{AfterCrash, Timeout};
use crate::def::DynamicFork;
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// A container: the branches it made recover on their own.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// Where its tasks and their inputs come from, checked as Conductor's
    /// `WorkflowTaskTypeConstraint` does.
    pub(crate) fn build_fork_join_dynamic(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        Some(TaskKind::ForkJoinDynamic(self.dynamic_fork(raw, path)))
    }

    /// FORK_JOIN_DYNAMIC's settings, checked as Conductor's `WorkflowTaskTypeConstraint` does.
    fn dynamic_fork(&mut self, raw: &TaskConfig, path: &str) -> DynamicFork {
        let fork = DynamicFork {
            tasks_param: raw.dynamic_fork_tasks_param.clone(),
            input_param: raw.dynamic_fork_tasks_input_param_name.clone(),
            legacy_param: raw.dynamic_fork_join_tasks_param.clone(),
        };
        if raw.input_parameters.contains_key("forkTaskInputs") {
            return fork;
        }
        let modern = fork.tasks_param.is_some() || fork.input_param.is_some();
        if fork.legacy_param.is_some() && modern {
            self.problems.push(Problem::error(
                join_key(path, "dynamicForkJoinTasksParam"),
                "use either `dynamicForkJoinTasksParam` or `dynamicForkTasksParam` with \
                 `dynamicForkTasksInputParamName`, not both",
            ));
        } else if fork.legacy_param.is_none() {
            for (field, set) in [
                ("dynamicForkTasksParam", fork.tasks_param.is_some()),
                ("dynamicForkTasksInputParamName", fork.input_param.is_some()),
            ] {
                if !set {
                    self.problems.push(Problem::error(
                        join_key(path, field),
                        format!(
                            "a FORK_JOIN_DYNAMIC task needs `{field}` (or `forkTaskInputs` in its \
                             `inputParameters`, or `dynamicForkJoinTasksParam`)"
                        ),
                    ));
                }
            }
        }
        fork
    }
}

impl Run<'_, '_> {
    /// The fork itself completes at once; the branches it made start next.
    pub(crate) fn start_fork_join_dynamic(&mut self, i: usize) {
        self.complete(i, json!({}));
    }
}
