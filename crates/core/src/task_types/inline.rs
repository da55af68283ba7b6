//! INLINE: JavaScript evaluated over the task's input (or, with `evaluatorType: value-param`,
//! one of its input values); the output is `{result}`.

use serde_json::{Map, Value, json};

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

/// The evaluators INLINE knows (`graaljs` is Conductor's name for JavaScript).
const EVALUATORS: &[&str] = &["javascript", "graaljs", "value-param"];

impl Builder {
    /// A known `evaluatorType` and an `expression` string, a literal script free of syntax errors.
    pub(crate) fn build_inline(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let input_path = join_key(path, "inputParameters");
        let evaluator = raw.input_parameters.get("evaluatorType").and_then(Value::as_str);
        if let Some(other) = evaluator.filter(|e| !EVALUATORS.contains(e)) {
            self.bad_enum(&join_key(&input_path, "evaluatorType"), other, EVALUATORS);
        }
        match raw.input_parameters.get("expression") {
            Some(Value::String(script)) if evaluator != Some("value-param") => {
                self.check_script(script, &join_key(&input_path, "expression"))
            }
            Some(Value::String(_)) => {}
            _ => self.problems.push(Problem::error(
                join_key(&input_path, "expression"),
                "an INLINE task needs an `expression` string",
            )),
        }
        Some(TaskKind::Inline)
    }
}

impl Run<'_, '_> {
    /// Evaluates the expression (within the step's budget), or reads the value parameter.
    pub(crate) fn start_inline(&mut self, i: usize, input: &Map<String, Value>) {
        let expression = input.get("expression").and_then(Value::as_str).unwrap_or_default().to_string();
        if input.get("evaluatorType").and_then(Value::as_str) == Some("value-param") {
            let mut value = input.get(&expression).cloned().unwrap_or(Value::Null);
            self.cx.secrets.scrub(&mut value);
            return self.complete(i, json!({"result": value}));
        }
        self.evaluate(i, Evaluation::Script { code: expression, input: Value::Object(input.clone()) });
    }
}
