//! EXCLUSIVE_JOIN (Conductor's): after a SWITCH or DECISION, takes the output of whichever branch
//! ran. It looks through `joinOn` for the first task that ran (not skipped) and, when none did,
//! through `defaultExclusiveJoinTask`; once that task has ended, it completes with its output, or
//! fails with its reason. As Conductor's `ExclusiveJoin.java`, it waits while the task it found
//! is still running, and also while none of them has run.

use serde_json::{Value, json};

use super::{AfterCrash, Timeout};
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::def::{Task, TaskKind};
use crate::diagnostic::Problem;
use crate::instance::{TaskExec, TaskStatus};
use crate::interpreter::run::{Flow, Pos, Run};
use crate::locate::join_key;

/// Nothing to do but wait: it is looked at again whenever the instance advances.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `joinOn` or `defaultExclusiveJoinTask`, each a list of references (checked with the
    /// workflow's other references).
    pub(crate) fn build_exclusive_join(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        if raw.join_on.is_empty() && raw.default_exclusive_join_task.is_empty() {
            self.problems.push(Problem::error(
                join_key(path, "joinOn"),
                "an EXCLUSIVE_JOIN task needs `joinOn` (or `defaultExclusiveJoinTask`), the tasks whose output it takes",
            ));
        }
        let join_on = raw.join_on.clone();
        let defaults = raw.default_exclusive_join_task.clone();
        Some(TaskKind::ExclusiveJoin { join_on, defaults })
    }
}

impl<'a> Run<'a, '_> {
    /// Records what it looks at as its input, as Conductor's mapper does; `run_exclusive_join`
    /// settles it.
    pub(crate) fn start_exclusive_join(&mut self, i: usize, join_on: &[String], defaults: &[String]) {
        let mut input = json!({"joinOn": join_on});
        if !defaults.is_empty() {
            input["defaultExclusiveJoinTask"] = json!(defaults);
        }
        self.inst.tasks[i].input_data = input;
    }

    /// Creates and starts the EXCLUSIVE_JOIN `task` when the flow reaches it, then settles it
    /// once the task it joins on has ended.
    pub(crate) fn run_exclusive_join(&mut self, task: &'a Task, pos: &Pos) -> Flow {
        let TaskKind::ExclusiveJoin { join_on, defaults } = &task.kind else { return self.run_task(task, pos) };
        match self.run_task(task, pos) {
            Flow::Pending => {}
            other => return other,
        }
        let Some(&i) = self.index.get(&format!("{}{}", task.ref_name, pos.suffix)) else { return Flow::Pending };
        if self.inst.tasks[i].status != TaskStatus::InProgress {
            return Flow::Pending;
        }
        match self.exclusive_outcome(join_on, defaults, pos) {
            None => Flow::Pending,
            Some(Ok(output)) => {
                self.complete(i, output);
                Flow::Done
            }
            Some(Err(reason)) => {
                self.set_status(i, TaskStatus::Failed, Some(reason));
                Flow::Failed(i)
            }
        }
    }

    /// The output to complete with, the reason to fail with, or `None` to wait: Conductor's
    /// `ExclusiveJoin.execute`, step by step.
    fn exclusive_outcome(&self, join_on: &[String], defaults: &[String], pos: &Pos) -> Option<Result<Value, String>> {
        // As Conductor's `appendIteration`: in a DO_WHILE, only this iteration's task counts (an
        // untaken case has none, and an earlier iteration's must not stand in for it).
        let here = |r: &String| self.index.get(&format!("{r}{}", pos.suffix)).map(|&j| &self.inst.tasks[j]);
        let ran = |r: &String| here(r).filter(|t| t.status != TaskStatus::Skipped);
        // Conductor's `!isSuccessful()`: a running task counts as successful there.
        let failed = |t: &TaskExec| t.status.is_terminal() && !t.status.is_successful();
        if let Some(found) = join_on.iter().find_map(ran) {
            let permissive = self.task_def(&found.def_ref).is_some_and(|t| t.permissive);
            // A task that never ran will not (its branch was not taken): it counts as ended.
            // Conductor reads it as null here and throws.
            let all_ended = join_on.iter().all(|r| here(r).is_none_or(|t| t.status.is_terminal()));
            if failed(found) && (!permissive || all_ended) {
                let reasons: Vec<&str> = join_on
                    .iter()
                    .filter_map(here)
                    .filter(|t| failed(t))
                    .filter_map(|t| t.reason_for_incompletion.as_deref())
                    .collect();
                return Some(Err(reasons.join(" ")));
            }
            if found.status.is_terminal() {
                return Some(Ok(found.output_data.clone()));
            }
        }
        // As Conductor: no task of `joinOn` has ended (none ran, or the one found still runs).
        let found = defaults.iter().find_map(ran)?;
        if failed(found) {
            return Some(Err(format!("{} ", found.reason_for_incompletion.as_deref().unwrap_or_default())));
        }
        found.status.is_terminal().then(|| Ok(found.output_data.clone()))
    }
}
