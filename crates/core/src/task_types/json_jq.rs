//! JSON_JQ_TRANSFORM: a jq program (`queryExpression`) over the task's input.

use std::sync::Arc;

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
    /// A `queryExpression` string; a literal one must compile.
    pub(crate) fn build_json_jq(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        let at = join_key(&join_key(path, "inputParameters"), "queryExpression");
        let query = match raw.input_parameters.get("queryExpression") {
            Some(Value::String(q)) if !q.contains("${") => {
                if let Err(e) = crate::jq::compile(q) {
                    self.problems.push(Problem::error(at, format!("jq query does not compile: {e}")));
                }
                Some(Arc::from(q.as_str()))
            }
            Some(Value::String(_)) => None,
            _ => {
                self.problems.push(Problem::error(at, "a JSON_JQ_TRANSFORM task needs a `queryExpression` string"));
                None
            }
        };
        Some(TaskKind::JsonJq { query })
    }
}

impl Run<'_, '_> {
    /// Runs the program (within the step's budget).
    pub(crate) fn start_json_jq(&mut self, i: usize, input: &Map<String, Value>) {
        let query = input.get("queryExpression").and_then(Value::as_str).unwrap_or_default().to_string();
        self.evaluate(i, Evaluation::Jq { query, input: Value::Object(input.clone()) });
    }
}
