//! `${}` templates: any text resolved against an instance with inputs, variables, a task output
//! and a secret. Resolving never panics, and the stored (masked) copy never holds the secret.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use vigil_core::instance::{Instance, InstanceScope, SecretSource};
use vigil_core::params::{Secrets, resolve};
use vigil_core::principal::Principal;

struct OneSecret;

impl SecretSource for OneSecret {
    fn secret(&self, name: &str) -> Option<String> {
        (name == "token").then(|| "s3cr3t-value".to_string())
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let template: Value = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    let mut instance: Instance = serde_json::from_value(json!({
        "workflowId": "i1", "workflowName": "w", "workflowVersion": 1, "status": "RUNNING",
        "input": {"a": [1, {"b": "x"}], "s": "text"}, "output": {}, "variables": {"v": 3},
        "tasks": [], "createTime": 0, "updateTime": 0, "nextTaskSeq": 0
    }))
    .expect("a valid instance");
    instance.variables.insert("nested".into(), json!({"deep": [[1, 2], {"k": null}]}));
    let index = HashMap::new();
    let scope = InstanceScope {
        instance: &instance,
        index: &index,
        suffix: "",
        secrets: &OneSecret,
        current_task: Some("t1"),
        authority: &Principal::System,
    };
    if let Ok(masked) = resolve(&template, &scope, Secrets::Mask) {
        assert!(!masked.to_string().contains("s3cr3t-value"), "a masked copy holds the secret");
    }
    let _ = resolve(&template, &scope, Secrets::Reveal);
});
