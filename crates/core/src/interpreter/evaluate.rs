//! INLINE scripts and jq programs. A step evaluates them itself while they are quick; one that
//! runs past the step's [`Budget`] is handed to the runtime as [`Action::Evaluate`] and finishes
//! beside the interpreter, so a long script never holds up the other instances of its thread.
//!
//! SWITCH and DO_WHILE conditions are decisions inside a step and cannot leave it: they run under
//! the shorter [`Budget::condition`] and fail their task past it.

use std::time::Duration;

use serde_json::{Value, json};

use super::TaskResult;
use crate::jq::{JqCache, JqError};
use crate::script::{ScriptEngine, ScriptError};

/// How long evaluations may hold the thread that runs a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// An INLINE or JSON_JQ_TRANSFORM task: past it, the task goes on beside the step
    /// ([`super::Action::Evaluate`]) under the engine's full limits. Zero hands it over at once.
    pub task: Duration,
    /// A SWITCH (`javascript` evaluator) or DO_WHILE condition: past it, the task fails.
    pub condition: Duration,
}

impl Budget {
    /// What the engine's interpreter threads use: 10 ms per task, 250 ms per condition.
    pub const DEFAULT: Budget = Budget { task: Duration::from_millis(10), condition: Duration::from_millis(250) };
}

/// A script or jq program with its input, as an INLINE or JSON_JQ_TRANSFORM task runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Evaluation {
    /// INLINE JavaScript: `$` is the task's input.
    Script {
        /// The expression.
        code: String,
        /// The task's input, with secrets revealed: never store it.
        input: Value,
    },
    /// JSON_JQ_TRANSFORM: the program runs on the task's input.
    Jq {
        /// The program.
        query: String,
        /// The task's input, with secrets revealed: never store it.
        input: Value,
    },
}

/// Why an attempt gave no output.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Stop {
    /// It ran past the time it was given.
    OverTime(String),
    /// It failed for another reason.
    Failed(String),
}

impl Evaluation {
    /// Runs to the engines' full limits and returns the task's result (secrets not yet scrubbed).
    pub fn run(&self, scripts: &mut ScriptEngine, jq: &mut JqCache) -> TaskResult {
        let time = scripts.limits().time.max(jq.limits().time);
        match self.attempt(scripts, jq, time) {
            Ok(output) => TaskResult::Completed(output),
            Err(Stop::OverTime(reason) | Stop::Failed(reason)) => {
                TaskResult::Failed { reason, output: json!({}), terminal: false }
            }
        }
    }

    /// Runs for at most `time` (each engine caps it at its own limit) and returns the task's
    /// output: `{result}` for a script, `{result, resultList}` for jq.
    pub(super) fn attempt(&self, scripts: &mut ScriptEngine, jq: &mut JqCache, time: Duration) -> Result<Value, Stop> {
        match self {
            Evaluation::Script { code, input } => match scripts.eval_within(code, input, time) {
                Ok(value) => Ok(json!({"result": value})),
                Err(e @ ScriptError::Timeout(_)) => Err(Stop::OverTime(e.to_string())),
                Err(e) => Err(Stop::Failed(e.to_string())),
            },
            Evaluation::Jq { query, input } => match jq.run_within(query, input, time) {
                Ok(results) => {
                    let first = results.first().cloned().unwrap_or(Value::Null);
                    Ok(json!({"result": first, "resultList": results}))
                }
                Err(e @ JqError::OverTime(_)) => Err(Stop::OverTime(e.to_string())),
                Err(JqError::Failed(reason)) => Err(Stop::Failed(reason)),
            },
        }
    }

    /// The full time limit that applies to this evaluation.
    pub(super) fn limit(&self, scripts: &ScriptEngine, jq: &JqCache) -> Duration {
        match self {
            Evaluation::Script { .. } => scripts.limits().time,
            Evaluation::Jq { .. } => jq.limits().time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::script::ScriptLimits;

    fn engines() -> (ScriptEngine, JqCache) {
        let limits = ScriptLimits { time: Duration::from_millis(300), memory_bytes: 32 << 20 };
        (ScriptEngine::new(limits), JqCache::new(limits))
    }

    #[test]
    fn a_short_attempt_tells_time_apart_from_failure() {
        let (mut js, mut jq) = engines();
        let spin = Evaluation::Script { code: "while (true) {}".into(), input: json!({}) };
        assert!(matches!(spin.attempt(&mut js, &mut jq, Duration::from_millis(5)), Err(Stop::OverTime(_))));
        let throw = Evaluation::Script { code: "throw new Error('no')".into(), input: json!({}) };
        assert!(matches!(throw.attempt(&mut js, &mut jq, Duration::from_millis(5)), Err(Stop::Failed(_))));
        let recurse = Evaluation::Jq { query: "def f: f; f".into(), input: json!(null) };
        assert!(matches!(recurse.attempt(&mut js, &mut jq, Duration::from_millis(5)), Err(Stop::OverTime(_))));
    }

    #[test]
    fn a_full_run_shapes_the_output_as_the_task_does() {
        let (mut js, mut jq) = engines();
        let script = Evaluation::Script { code: "$.a + 1".into(), input: json!({"a": 1}) };
        assert_eq!(script.run(&mut js, &mut jq), TaskResult::Completed(json!({"result": 2})));
        let program = Evaluation::Jq { query: ".a, .b".into(), input: json!({"a": 1, "b": 2}) };
        assert_eq!(program.run(&mut js, &mut jq), TaskResult::Completed(json!({"result": 1, "resultList": [1, 2]})));
        let spin = Evaluation::Script { code: "for (;;) {}".into(), input: json!({}) };
        match spin.run(&mut js, &mut jq) {
            TaskResult::Failed { reason, terminal: false, .. } => assert!(reason.contains("300ms"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
