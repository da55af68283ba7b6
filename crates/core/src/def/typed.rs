//! Deserializing one part of a definition into its raw type, with the failing field's path.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::diagnostic::{Problem, did_you_mean};
use crate::locate::join_key;

/// Deserializes `value` into `T`, reporting the failing field path. Top-level `null` fields are
/// treated as absent, as Conductor's exports write `null` for every unset field.
pub(crate) fn typed<T: DeserializeOwned>(value: &Value, path: &str, problems: &mut Vec<Problem>) -> Option<T> {
    let stripped;
    let value = match value {
        Value::Object(map) if map.values().any(Value::is_null) => {
            stripped =
                Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect());
            &stripped
        }
        other => other,
    };
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let inner = e.path().to_string();
            let at = if inner == "." { path.to_string() } else { join_key(path, &inner) };
            let mut message = e.into_inner().to_string();
            // A required field that is missing because it is misspelt (`cronExpresion`) names
            // the misspelt one, which is otherwise only ignored with a warning.
            let missing = message.strip_prefix("missing field `").and_then(|m| m.split('`').next()).map(str::to_string);
            if let (Some(missing), Value::Object(written)) = (missing, value) {
                let close = written.keys().find(|k| did_you_mean(k, [missing.as_str()]).is_some());
                if let Some(close) = close {
                    message.push_str(&format!(" (`{close}` is written: a misspelling of it?)"));
                }
            }
            problems.push(Problem::error(at, message));
            None
        }
    }
}
