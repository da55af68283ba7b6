//! SET_VARIABLE: sets workflow variables from its input.

use serde_json::{Value, json};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;

/// It completes in the step that starts it, which commits as one: it is never left in progress.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// Nothing to check: every input is a variable.
    pub(crate) fn build_set_variable(&mut self, _raw: &TaskConfig, _path: &str) -> Option<TaskKind> {
        Some(TaskKind::SetVariable)
    }
}

impl Run<'_, '_> {
    /// Sets the variables from the stored (masked) input, unless they grow past the limit.
    pub(crate) fn start_set_variable(&mut self, i: usize) {
        let mut variables = self.inst.variables.clone();
        if let Value::Object(masked) = self.inst.tasks[i].input_data.clone() {
            variables.extend(masked);
        }
        // As Conductor's SetVariable: the variables are left as they were when too big.
        let size = serde_json::to_vec(&variables).map_or(0, |v| v.len());
        let limit = self.cx.max_variables_bytes;
        if size > limit {
            let reason = format!(
                "The variables payload size: {size} of workflow: {} is greater than the permissible limit: {} kilobytes",
                self.inst.workflow_id,
                limit / 1024
            );
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        self.inst.variables = variables;
        self.complete(i, json!({}));
    }
}
