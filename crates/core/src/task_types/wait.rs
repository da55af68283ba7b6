//! WAIT: waits for a duration (`duration`), until a time (`until`), or, with neither, to be
//! completed from outside (a raised event or a task update).

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::Action;
use crate::interpreter::run::Run;
use crate::locate::join_key;
use crate::time::{parse_duration, parse_until};

/// Nothing to do but wait: its timer is re-armed.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Waiting;

impl Builder {
    /// A literal `duration` or `until` must parse.
    pub(crate) fn build_wait(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        self.check_wait(raw, &join_key(path, "inputParameters"));
        Some(TaskKind::Wait)
    }

    fn check_wait(&mut self, raw: &TaskConfig, input_path: &str) {
        if let Some(Value::String(d)) = raw.input_parameters.get("duration")
            && !d.contains("${")
            && let Err(e) = parse_duration(d)
        {
            self.problems.push(Problem::error(join_key(input_path, "duration"), e));
        }
        if let Some(Value::String(u)) = raw.input_parameters.get("until")
            && !u.contains("${")
            && let Err(e) = parse_until(u)
        {
            self.problems.push(Problem::error(join_key(input_path, "until"), e));
        }
    }
}

impl Run<'_, '_> {
    /// Arms its timer, or waits for an event (one raised earlier completes it at once).
    pub(crate) fn start_wait(&mut self, i: usize, input: &Map<String, Value>) {
        let due = match (input.get("duration"), input.get("until")) {
            (Some(Value::String(d)), _) => parse_duration(d).map(|ms| Some(self.cx.now + ms)),
            (Some(Value::Number(n)), _) => Ok(Some(self.cx.now + n.as_i64().unwrap_or(0) * 1000)),
            (_, Some(Value::String(u))) => parse_until(u).map(Some),
            _ => Ok(None),
        };
        match due {
            Ok(Some(due)) => {
                self.inst.tasks[i].due_time = Some(due);
                self.actions.push(Action::Timer { task_id: self.inst.tasks[i].task_id.clone(), due });
            }
            Ok(None) => {
                self.take_raised(i);
            }
            Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
        }
    }
}
