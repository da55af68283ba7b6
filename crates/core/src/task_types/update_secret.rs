//! UPDATE_SECRET (Orkes'): stores `_secrets.secretValue` as the secret `_secrets.secretKey`, after
//! masking the value everywhere in the instance.

use serde_json::{Map, Value};

use super::{AfterCrash, Timeout};
use crate::def::TaskKind;
use crate::def::build::Builder;
use crate::def::raw::TaskConfig;
use crate::diagnostic::Problem;
use crate::instance::TaskStatus;
use crate::interpreter::Action;
use crate::interpreter::run::Run;
use crate::locate::join_key;

/// Whether the secret was stored before the crash is unknown, and the value is masked everywhere
/// vigil keeps it, so it cannot be stored again.
pub(super) const AFTER_CRASH: AfterCrash = AfterCrash::Fail(
    "vigil stopped while this secret was being stored; whether it was is unknown, and its \
     value is masked everywhere vigil keeps it, so it cannot be stored again",
);
pub(super) const TIMEOUT: Timeout = Timeout::Unarmed;

impl Builder {
    /// `_secrets` with its two fields.
    pub(crate) fn build_update_secret(&mut self, raw: &TaskConfig, path: &str) -> Option<TaskKind> {
        self.check_update_secret(raw, &join_key(path, "inputParameters"));
        Some(TaskKind::UpdateSecret)
    }

    /// `_secrets.secretKey` (a secret name, or a template) and `_secrets.secretValue` are required.
    fn check_update_secret(&mut self, raw: &TaskConfig, input_path: &str) {
        let secrets_path = join_key(input_path, "_secrets");
        let Some(Value::Object(secrets)) = raw.input_parameters.get("_secrets") else {
            self.problems.push(Problem::error(
                secrets_path,
                "an UPDATE_SECRET task needs `_secrets: {secretKey: NAME, secretValue: VALUE}`",
            ));
            return;
        };
        match secrets.get("secretKey") {
            Some(Value::String(key)) if key.contains("${") || crate::params::is_secret_name(key) => {}
            Some(Value::String(key)) => self.problems.push(Problem::error(
                join_key(&secrets_path, "secretKey"),
                format!("`{key}` is not a secret name: letters, digits, `_` and `-` only"),
            )),
            _ => self.problems.push(Problem::error(
                join_key(&secrets_path, "secretKey"),
                "an UPDATE_SECRET task needs `secretKey`, the name of the secret to set",
            )),
        }
        if secrets.get("secretValue").is_none_or(Value::is_null) {
            self.problems.push(Problem::error(
                join_key(&secrets_path, "secretValue"),
                "an UPDATE_SECRET task needs `secretValue`, the new value",
            ));
        }
    }
}

impl Run<'_, '_> {
    /// Hands `_secrets.secretValue` to the runtime to store as `_secrets.secretKey`, after
    /// masking it everywhere in this instance: the commit that carries the action is the first to
    /// store the state since the value arrived (a token an HTTP task fetched just before), so it
    /// never reaches the store.
    pub(crate) fn start_update_secret(&mut self, i: usize, input: &Map<String, Value>) {
        let given = input.get("_secrets");
        let name = given.and_then(|s| s.get("secretKey")).and_then(Value::as_str).unwrap_or_default().to_string();
        let value = match given.and_then(|s| s.get("secretValue")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        if !crate::params::is_secret_name(&name) {
            let reason = format!("_secrets.secretKey `{name}` is not a secret name: letters, digits, `_` and `-` only");
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if value.is_empty() {
            let reason = "_secrets.secretValue is empty".to_string();
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if value == crate::params::MASK {
            // What vigil stores in place of a secret: resolving from data a secret was masked in
            // (a retry after the value became a secret) must not store the mask as the secret.
            let reason = "_secrets.secretValue is `***`, the mask vigil stores in place of a secret: \
                          the value it came from is no longer kept"
                .to_string();
            return self.fail(i, reason, TaskStatus::FailedWithTerminalError);
        }
        if let Err(denied) = self.authority_for(i, "_secrets").may_write_secret(&name) {
            return self.fail(i, denied.0, TaskStatus::FailedWithTerminalError);
        }
        let secrets = self.cx.secrets;
        let inst = &mut *self.inst;
        for exec in &mut inst.tasks {
            secrets.scrub_new(&value, &mut exec.input_data);
            secrets.scrub_new(&value, &mut exec.output_data);
        }
        let mut variables = Value::Object(std::mem::take(&mut inst.variables));
        secrets.scrub_new(&value, &mut variables);
        if let Value::Object(v) = variables {
            inst.variables = v;
        }
        if let Some(secret) = inst.tasks[i].input_data.get_mut("_secrets").and_then(Value::as_object_mut) {
            secret.insert("secretValue".into(), Value::String(crate::params::MASK.into()));
        }
        let task_id = inst.tasks[i].task_id.clone();
        self.actions.push(Action::UpdateSecret { task_id, name, value });
    }
}
