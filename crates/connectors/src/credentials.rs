//! Credentials in settings: `${workflow.secrets.NAME}` and `${env.NAME}`, written in a notifier's
//! or a source's settings and substituted when it is built to run (never stored substituted).
//! `vigil validate` checks settings without them.

use serde_json::Value;
use vigil_core::locate::join_key;

/// Looks up a credential: `("secrets", name)` or `("env", name)`.
pub type Credentials<'a> = &'a dyn Fn(&str, &str) -> Option<String>;

/// Replaces `${workflow.secrets.X}` and `${env.X}` in every string of `value` (a source's
/// settings, say) and returns what is missing, by field path.
pub fn substitute_credentials(value: &mut Value, lookup: Credentials<'_>) -> Vec<(String, String)> {
    let mut missing = Vec::new();
    substitute(value, "", lookup, &mut missing);
    missing
}

/// Replaces `${workflow.secrets.X}` and `${env.X}` in every string, recording what is missing.
pub(crate) fn substitute(value: &mut Value, path: &str, lookup: Credentials<'_>, missing: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if s.contains("${") => {
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let Some(len) = rest[start..].find('}') else { break };
                let reference = &rest[start + 2..start + len];
                let found = match reference.split_once('.') {
                    Some(("workflow", tail)) => tail.strip_prefix("secrets.").map(|name| ("secrets", name)),
                    Some(("env", name)) => Some(("env", name)),
                    _ => None,
                };
                match found {
                    Some((kind, name)) => match lookup(kind, name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            let how = if kind == "secrets" {
                                format!("set it with `vigil secret set {name}`")
                            } else {
                                "set the environment variable".into()
                            };
                            missing.push((path.to_string(), format!("`${{{reference}}}` is not set ({how})")));
                        }
                    },
                    None => out.push_str(&rest[start..start + len + 1]),
                }
                rest = &rest[start + len + 1..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => {
            items.iter_mut().enumerate().for_each(|(i, v)| substitute(v, &format!("{path}[{i}]"), lookup, missing))
        }
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| substitute(v, &join_key(path, k), lookup, missing)),
        _ => {}
    }
}
