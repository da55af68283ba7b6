//! LAMBDA: Conductor's older INLINE, the body of a JavaScript function (`scriptExpression`) over
//! `$`, the task's input; its return value is `result`.

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::interpreter::Evaluation;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// An evaluation: repeating it is harmless.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Restart;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// A `scriptExpression` string whose function has no syntax error.
    pub(crate) fn build_lambda(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let at = join_key(&join_key(path, "inputParameters"), "scriptExpression");
        match raw.input_parameters.get("scriptExpression") {
            Some(Value::String(body)) => self.check_script(&lambda_script(body), &at),
            _ => self.problems.push(Problem::error(at, "a LAMBDA task needs a `scriptExpression` string")),
        }
        Some(TaskKind::Lambda)
    }
}

impl Run<'_, '_> {
    /// Evaluates the function (within the step's budget).
    pub(crate) fn start_lambda(&mut self, i: usize, input: &Map<String, Value>) {
        let body = input.get("scriptExpression").and_then(Value::as_str).unwrap_or_default();
        let code = lambda_script(body);
        self.evaluate(i, Evaluation::Script { code, input: Value::Object(input.clone()) });
    }
}

/// The script Conductor's LAMBDA runs for `body` (`Lambda.java`): the body of a function that is
/// called at once.
fn lambda_script(body: &str) -> String {
    format!("function scriptFun(){{{body}\n}} scriptFun();")
}
