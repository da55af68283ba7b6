//! What the audit log records of a change: the difference between an object before and after
//! it ([`diff`]), and values that must never be recorded taken out ([`redact`]). Pure; the
//! server and the CLI record, the store keeps.

use serde::Serialize;
use serde_json::{Map, Value};

/// What stands in for a value that is never recorded.
pub const REDACTED: &str = "<redacted>";

/// One field that changed: its path (`tasks[0].inputParameters.uri`) and its values before and
/// after (none: it was added or removed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Where in the object.
    pub path: String,
    /// The value before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// The value after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// Every field that differs between `before` and `after`: objects are compared key by key,
/// lists item by item, anything else whole.
pub fn diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", Some(before), Some(after), &mut out);
    out
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Change>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let at = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk(&at, a.get(key), b.get(key), out);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) => {
            for i in 0..a.len().max(b.len()) {
                walk(&format!("{path}[{i}]"), a.get(i), b.get(i), out);
            }
        }
        (a, b) if a != b => out.push(Change { path: path.to_string(), before: a.cloned(), after: b.cloned() }),
        _ => {}
    }
}

/// [`diff`], recorded safely: a change under a credential's field says that it changed and
/// never what it was or became, and credentials inside changed values are redacted.
pub fn redacted_diff(before: &Value, after: &Value) -> Vec<Change> {
    let mut changes = diff(before, after);
    for change in &mut changes {
        let sensitive = change.path.split(['.', '[']).any(is_sensitive_key);
        for side in [&mut change.before, &mut change.after].into_iter().flatten() {
            let reference = side.as_str().is_some_and(|s| s.trim().starts_with("${") && s.trim().ends_with('}'));
            if sensitive && !reference {
                *side = Value::String(REDACTED.into());
            } else {
                redact(side);
            }
        }
    }
    changes
}

/// A change to an object whose settings are credentials as a whole (a notifier: its webhook URL
/// is its key): every value but the top-level fields in `keep` is redacted, so the row tells
/// which settings changed and nothing of them.
pub fn opaque(change: &mut Value, keep: &[&str]) {
    fn all(v: &mut Value) {
        match v {
            Value::Object(map) => map.values_mut().for_each(all),
            Value::Array(items) => items.iter_mut().for_each(all),
            Value::Null => {}
            other => *other = Value::String(REDACTED.into()),
        }
    }
    if let Some(changes) = change.get_mut("diff").and_then(Value::as_array_mut) {
        for c in changes {
            let top = c["path"].as_str().and_then(|p| p.split(['.', '[']).next()).unwrap_or_default().to_string();
            if !keep.contains(&top.as_str()) {
                for side in ["before", "after"] {
                    if let Some(v) = c.get_mut(side) {
                        all(v);
                    }
                }
            }
        }
    }
    for whole in ["created", "deleted", "sent"] {
        if let Some(Value::Object(map)) = change.get_mut(whole) {
            for (k, v) in map.iter_mut() {
                if !keep.contains(&k.as_str()) {
                    all(v);
                }
            }
        }
    }
}

/// Whether a field of this name holds a credential (`password`, `clientSecret`, `routing_key`,
/// `apiKey`, `token`, `authorization`, ...): its value is never recorded.
pub fn is_sensitive_key(key: &str) -> bool {
    let key: String = key.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    const WORDS: [&str; 9] =
        ["password", "passwd", "secret", "token", "apikey", "routingkey", "privatekey", "credential", "authorization"];
    // `code` is a one-time code's. (A secret's `value` is never recorded at all.)
    WORDS.iter().any(|w| key.contains(w)) || key == "code"
}

/// `value` with every sensitive field's value ([`is_sensitive_key`]) replaced by [`REDACTED`],
/// except a secret reference (`${workflow.secrets.NAME}`), which names a secret and holds none.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => redact_map(map),
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn redact_map(map: &mut Map<String, Value>) {
    for (key, v) in map.iter_mut() {
        let reference = v.as_str().is_some_and(|s| s.trim().starts_with("${") && s.trim().ends_with('}'));
        if is_sensitive_key(key) && !v.is_null() && !reference {
            *v = Value::String(REDACTED.into());
        } else {
            redact(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_diff_names_each_changed_field() {
        let before = json!({"name": "w", "tasks": [{"uri": "a", "n": 1}], "old": true});
        let after = json!({"name": "w", "tasks": [{"uri": "b", "n": 1}, {"uri": "c"}], "new": 2});
        let changes = diff(&before, &after);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["new", "old", "tasks[0].uri", "tasks[1]"]);
        assert_eq!(
            changes[2],
            Change { path: "tasks[0].uri".into(), before: Some(json!("a")), after: Some(json!("b")) }
        );
        assert_eq!(changes[1].after, None, "removed");
        assert!(diff(&before, &before).is_empty());
        assert_eq!(diff(&json!(1), &json!(2)).len(), 1);
    }

    #[test]
    fn a_changed_credential_shows_that_it_changed_and_nothing_more() {
        let before = json!({"routing_key": "old-key", "headers": {"Authorization": "a"}, "url": "u1",
            "auth": {"password": "p1"}});
        let after = json!({"routing_key": "new-key", "headers": {"Authorization": "b"}, "url": "u2",
            "auth": {"password": "${workflow.secrets.p}"}, "extra": {"token": "t"}});
        let changes = redacted_diff(&before, &after);
        let text = serde_json::to_string(&changes).unwrap();
        for value in ["old-key", "new-key", "\"a\"", "\"b\"", "p1", "\"t\""] {
            assert!(!text.contains(value), "{value} in {text}");
        }
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["auth.password", "extra", "headers.Authorization", "routing_key", "url"]);
        assert_eq!(changes[0].after, Some(json!("${workflow.secrets.p}")), "a reference holds no secret");
        assert_eq!(changes[4].after, Some(json!("u2")));
    }

    #[test]
    fn an_opaque_change_tells_which_settings_changed_and_nothing_of_them() {
        let mut change = json!({"diff": diff(&json!({"name": "chat", "type": "slack", "url": "https://hooks/T1/a"}),
            &json!({"name": "chat", "type": "webhook", "url": "https://hooks/T1/b"}))});
        opaque(&mut change, &["name", "type"]);
        assert_eq!(
            change,
            json!({"diff": [{"path": "type", "before": "slack", "after": "webhook"},
                            {"path": "url", "before": REDACTED, "after": REDACTED}]})
        );
        let mut made = json!({"created": {"name": "chat", "type": "slack", "channel": {"id": 5}}});
        opaque(&mut made, &["name", "type"]);
        assert_eq!(made, json!({"created": {"name": "chat", "type": "slack", "channel": {"id": REDACTED}}}));
    }

    #[test]
    fn credentials_are_redacted_and_references_kept() {
        let mut v = json!({"name": "pager", "routing_key": "R0ut1ng", "url": "https://x",
            "headers": {"Authorization": "Bearer abc"}, "clientSecret": "${workflow.secrets.x}",
            "users": [{"password": "hunter2", "role": "read"}], "code": "123456", "statusCode": 200});
        redact(&mut v);
        assert_eq!(
            v,
            json!({"name": "pager", "routing_key": REDACTED, "url": "https://x",
                "headers": {"Authorization": REDACTED}, "clientSecret": "${workflow.secrets.x}",
                "users": [{"password": REDACTED, "role": "read"}], "code": REDACTED, "statusCode": 200})
        );
    }
}
