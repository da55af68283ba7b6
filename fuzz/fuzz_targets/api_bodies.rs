//! API bodies: any JSON body read as each definition the API accepts (a Conductor WorkflowDef, a
//! schedule, an ALERT task's inputs, a list of definitions), through the builders the API uses.
//! Errors are fine; panics, hangs and unbounded allocation are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigil_core::alert::{AlertRequest, rule_problems};
use vigil_core::def::build::build_workflow;
use vigil_core::def::cycles::find_cycles;
use vigil_core::schedule::ScheduleDef;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else { return };
    let docs = match &body {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut built = Vec::new();
    for doc in &docs {
        if let (Some(def), _) = build_workflow(doc) {
            built.push(def);
        }
        let _ = ScheduleDef::build(doc);
        if let Value::Object(map) = doc {
            let _ = rule_problems(map);
            let _ = AlertRequest::from_input(map, "alert", "w", "i/alert".into());
        }
    }
    let _ = find_cycles(built.iter());
});
