//! SWITCH (and Conductor's older DECISION): picks a case by a value parameter or a JavaScript
//! expression; the case's tasks run next (`run_unit` in the interpreter walks into them).

use serde_json::{Map, Value, json};

use super::{AfterCrash, Timeout};
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::def::{Evaluator, Switch, TaskKind};
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// A container: the chosen case's tasks recover on their own.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Wait;
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// SWITCH: `evaluatorType` and `expression`; DECISION: `caseValueParam` or `caseExpression`.
    /// Then the cases and the default case, each a task list.
    pub(crate) fn build_switch(&mut self, raw: &TaskConfig, type_name: &str, path: &str) -> Option<TaskKind> {
        let (evaluator, expression) = if type_name == "DECISION" {
            match (&raw.case_value_param, &raw.case_expression) {
                (Some(p), _) => (Evaluator::ValueParam, p.clone()),
                (None, Some(e)) => (Evaluator::JavaScript, e.clone()),
                (None, None) => {
                    self.problems.push(Problem::error(
                        join_key(path, "caseValueParam"),
                        "a DECISION task needs `caseValueParam` or `caseExpression`",
                    ));
                    return None;
                }
            }
        } else {
            let evaluator = match raw.evaluator_type.as_deref() {
                Some("value-param") | None => Evaluator::ValueParam,
                Some("javascript" | "graaljs") => Evaluator::JavaScript,
                Some(other) => {
                    self.bad_enum(&join_key(path, "evaluatorType"), other, &["value-param", "javascript", "graaljs"]);
                    Evaluator::ValueParam
                }
            };
            let Some(expression) = raw.expression.clone().filter(|e| !e.trim().is_empty()) else {
                self.problems.push(Problem::error(join_key(path, "expression"), "a SWITCH task needs an `expression`"));
                return None;
            };
            (evaluator, expression)
        };
        if evaluator == Evaluator::JavaScript {
            let field = if type_name == "DECISION" { "caseExpression" } else { "expression" };
            self.check_script(&expression, &join_key(path, field));
        }
        let cases_path = join_key(path, "decisionCases");
        let mut cases = Vec::new();
        for (case, list) in &raw.decision_cases {
            let at = join_key(&cases_path, case);
            match list.as_array() {
                Some(items) => cases.push((case.clone(), self.task_list(items, &at))),
                None => self.problems.push(Problem::error(at, "a case must be a list of tasks")),
            }
        }
        let default_case = self.task_list(&raw.default_case, &join_key(path, "defaultCase"));
        if raw.decision_cases.is_empty() {
            self.problems.push(Problem::warning(
                cases_path,
                format!("this {type_name} has no `decisionCases`: every run takes `defaultCase`"),
            ));
        }
        let decision = type_name == "DECISION";
        Some(TaskKind::Switch(Switch { evaluator, expression, cases, default_case, decision }))
    }
}

impl Run<'_, '_> {
    /// Computes the case value and completes with it (`evaluationResult`, or DECISION's
    /// `caseOutput`).
    pub(crate) fn start_switch(&mut self, i: usize, sw: &Switch, input: Map<String, Value>) {
        let case = match sw.evaluator {
            Evaluator::ValueParam => Ok(input.get(&sw.expression).cloned().unwrap_or(Value::Null)),
            Evaluator::JavaScript => {
                let time = self.condition_time();
                self.cx.scripts.eval_within(&sw.expression, &Value::Object(input), time).map_err(|e| e.to_string())
            }
        };
        match case {
            Ok(v) => {
                let case = match v {
                    Value::String(s) => s,
                    Value::Null => "null".into(),
                    other => other.to_string(),
                };
                // As Conductor's mappers, the chosen case is part of the task's input.
                if let Value::Object(input) = &mut self.inst.tasks[i].input_data {
                    input.insert("case".into(), Value::String(case.clone()));
                }
                let mut output = json!({sw.case_key(): [case]});
                if !sw.decision {
                    output["selectedCase"] = json!(case);
                }
                self.complete(i, output);
            }
            Err(e) => self.fail(i, e, TaskStatus::Failed),
        }
    }
}
