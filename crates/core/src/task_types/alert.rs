//! ALERT (vigil's own): reports an observation (`status`, `firing` or `resolved`) to the alert
//! lifecycle of a dedup key, which raises, reminds and resolves through its notifiers.

use serde_json::Value;

use super::{AfterCrash, Timeout};
use crate::def::Task;
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::Action;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// An observation: newest-wins makes repeating it idempotent.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

/// The severities an alert may carry.
const SEVERITIES: &[&str] = &["critical", "error", "warning", "info"];

impl Builder {
    /// `status`, `notifiers`, the alert's rules, and a known `severity`.
    pub(crate) fn build_alert(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        if !raw.input_parameters.contains_key("status") {
            self.problems.push(Problem::error(
                join_key(&input_path, "status"),
                "an ALERT task needs `status` (`firing` or `resolved`)",
            ));
        }
        match raw.input_parameters.get("notifiers") {
            Some(Value::Array(items)) if !items.is_empty() => {}
            Some(Value::String(_)) => {}
            _ => self.problems.push(Problem::error(
                join_key(&input_path, "notifiers"),
                "an ALERT task needs `notifiers`, a list of notifier names",
            )),
        }
        for (field, message) in crate::alert::rule_problems(&raw.input_parameters) {
            self.problems.push(Problem::error(join_key(&input_path, field), message));
        }
        if let Some(Value::String(sev)) = raw.input_parameters.get("severity")
            && !sev.contains("${")
            && !SEVERITIES.contains(&sev.as_str())
        {
            self.bad_enum(&join_key(&input_path, "severity"), sev, SEVERITIES);
        }
        Some(TaskKind::Alert)
    }
}

impl Run<'_, '_> {
    /// Hands the observation to the alert manager. It is built from the masked input: it is
    /// stored with the alert.
    pub(crate) fn start_alert(&mut self, i: usize, task: &Task) {
        let masked = self.masked_input(i);
        let observation_id = format!("{}/{}", self.inst.workflow_id, self.inst.tasks[i].reference_task_name);
        match crate::alert::AlertRequest::from_input(&masked, &task.name, &self.inst.workflow_name, observation_id) {
            Ok(mut request) => {
                request.observed_at = self.observed_at();
                if let Some(teams) = self.cx.secrets.teams() {
                    let trusted = ["notifiers", "labels", "name", "dedupKey"]
                        .iter()
                        .all(|f| self.authority_for(i, f).is_trusted());
                    let workflow = self.inst.workflow_name.clone();
                    if let Err(why) = crate::alert::scope::check(teams, &workflow, trusted, &mut request) {
                        return self.fail(i, why, TaskStatus::FailedWithTerminalError);
                    }
                }
                let task_id = self.inst.tasks[i].task_id.clone();
                self.actions.push(Action::Alert { task_id, request: Box::new(request) });
            }
            Err(e) => self.fail(i, e, TaskStatus::FailedWithTerminalError),
        }
    }
}
