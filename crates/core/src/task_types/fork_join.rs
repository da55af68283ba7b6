//! FORK_JOIN: runs its branches (`forkTasks`) in parallel; the JOIN that follows waits for them
//! (`run_fork_join` in the interpreter).

use serde_json::json;

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// A container: its branches' tasks recover on their own.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// At least one branch, each a task list.
    pub(crate) fn build_fork_join(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        if raw.fork_tasks.is_empty() {
            self.problems.push(Problem::error(
                join_key(path, "forkTasks"),
                "a FORK_JOIN task needs at least one branch in `forkTasks`",
            ));
        }
        let branches = raw
            .fork_tasks
            .iter()
            .enumerate()
            .map(|(i, b)| self.task_list(b, &format!("{}[{i}]", join_key(path, "forkTasks"))))
            .collect();
        Some(TaskKind::ForkJoin { branches })
    }
}

impl Run<'_, '_> {
    /// The fork itself completes at once; its branches start next.
    pub(crate) fn start_fork(&mut self, i: usize) {
        self.complete(i, json!({}));
    }
}
