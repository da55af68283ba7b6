//! The JavaScript conditions of event handlers and of heartbeats that listen to a queue: `$` is
//! the message, and the condition holds when its value is truthy.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::Value;
use vigil_core::script::{ScriptEngine, ScriptLimits};

/// How long a condition may run.
const CONDITION_TIME: Duration = Duration::from_millis(250);

thread_local! {
    /// Conditions run on the thread that handles the message (QuickJS is not `Send`).
    static CONDITIONS: RefCell<Option<ScriptEngine>> = const { RefCell::new(None) };
}

/// Whether JavaScript condition `script` holds for message `payload`.
pub(crate) fn javascript(script: &str, payload: &Value) -> Result<bool, String> {
    CONDITIONS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let engine = cell.get_or_insert_with(|| ScriptEngine::new(ScriptLimits::default()));
        engine.eval_truthy(script, payload, CONDITION_TIME).map_err(|e| e.to_string())
    })
}
