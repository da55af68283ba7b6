//! Conductor parameter references: `${workflow.input.x}`, `${ref.output.a.b[0]}`, `${workflow.secrets.k}`.
//!
//! A string that is exactly one reference takes the referenced value with its JSON type; references
//! embedded in text are rendered into the text (strings as they are, other values as JSON). `$${`
//! escapes a literal `${`. A missing value resolves to `null`, as in Conductor.

use std::borrow::Cow;

use serde_json::{Map, Value};
use thiserror::Error;

use crate::locate::join_key;

/// Where references are looked up.
pub trait Scope {
    /// `workflow.<name>`: `input`, `variables`, `output`, `workflowId`, `status`, ...
    fn workflow_field(&self, name: &str) -> Option<Cow<'_, Value>>;
    /// `<ref>.<field>`: `input`, `output`, `status`, `taskId`, `retryCount`, ...
    fn task_field(&self, ref_name: &str, field: &str) -> Option<Cow<'_, Value>>;
    /// The plain value of secret `name`.
    fn secret(&self, name: &str) -> Option<String>;
    /// The value of environment variable `name`, when the deployment allows `${env.*}`.
    fn env(&self, name: &str) -> Option<String>;
    /// The id of the task whose input is being resolved (Conductor's `${CPEWF_TASK_ID}`).
    fn current_task_id(&self) -> Option<&str> {
        None
    }
    /// Why whoever this is resolved for may not read secret `name` (`None`: it may). Checked
    /// when the reference is resolved, whatever text it came from.
    fn secret_denied(&self, _name: &str) -> Option<String> {
        None
    }
    /// Why whoever this is resolved for may not read environment variable `name`.
    fn env_denied(&self, _name: &str) -> Option<String> {
        None
    }
}

/// Conductor's system parameters, written as a whole reference (`${CPEWF_TASK_ID}`): the current
/// task's id, and the `NETFLIX_ENV` and `NETFLIX_STACK` environment variables (read as
/// `${env.NETFLIX_ENV}` is, so only where the deployment allows `${env.*}`; Conductor also reads
/// any other environment variable or Java property by its bare name, which vigil does not, so a
/// definition cannot read the server's environment unless `${env.*}` is allowed).
pub const SYSTEM_PARAMETERS: [&str; 3] = ["CPEWF_TASK_ID", "NETFLIX_ENV", "NETFLIX_STACK"];

/// Whether secret references yield their values or `***`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// The real value: only for what is sent, never for what is stored.
    Reveal,
    /// `***`: for history, logs and errors.
    Mask,
}

/// The placeholder shown instead of a secret value.
pub const MASK: &str = "***";

/// Whether `name` may name a secret: letters, digits, `_` and `-`, at least one.
pub fn is_secret_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A reference that can't be resolved.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ParamError {
    /// `${workflow.secrets.x}` names no stored secret.
    #[error("secret `{0}` is not set (set it with `vigil secret set {0}`)")]
    UnknownSecret(String),
    /// `${...}` never closes.
    #[error("unclosed `${{` in `{0}`")]
    Unclosed(String),
    /// The instance's principal may not read what the reference names.
    #[error("{0}")]
    Denied(String),
}

/// Resolves every reference in `template`.
pub fn resolve(template: &Value, scope: &dyn Scope, secrets: Secrets) -> Result<Value, ParamError> {
    Ok(match template {
        Value::String(s) => resolve_str(s, scope, secrets)?,
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| resolve(v, scope, secrets)).collect::<Result<_, _>>()?)
        }
        Value::Object(map) => Value::Object(resolve_map(map, scope, secrets)?),
        other => other.clone(),
    })
}

/// Resolves every value of a map.
pub fn resolve_map(
    map: &Map<String, Value>,
    scope: &dyn Scope,
    secrets: Secrets,
) -> Result<Map<String, Value>, ParamError> {
    map.iter().map(|(k, v)| Ok((k.clone(), resolve(v, scope, secrets)?))).collect()
}

fn resolve_str(s: &str, scope: &dyn Scope, secrets: Secrets) -> Result<Value, ParamError> {
    if !s.contains("${") {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(inner) = whole_reference(s) {
        return lookup(inner, scope, secrets);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest.as_bytes()[start - 1] == b'$' {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| ParamError::Unclosed(s.to_string()))? + start;
        match lookup(&rest[start + 2..end], scope, secrets)? {
            Value::String(v) => out.push_str(&v),
            other => out.push_str(&other.to_string()),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn whole_reference(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains('}') && !inner.contains("${")).then_some(inner)
}

/// The secret reference `reference` reads (`workflow.secrets.NAME`, also `workflow.secrets['NAME']`
/// or `workflow.secrets.NAME.field`), named as resolution names it; `None` for other references.
pub fn secret_name(reference: &str) -> Option<String> {
    let mut segs = segments(reference).into_iter();
    match (segs.next()?.as_str(), segs.next()?.as_str()) {
        ("workflow", "secrets") => Some(segs.next().unwrap_or_default()),
        _ => None,
    }
}

/// Splits a reference into path segments: `a.b[0]['c d']` → `a`, `b`, `0`, `c d`.
pub fn segments(reference: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = reference.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => out.push(std::mem::take(&mut current)),
            '[' => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                let mut inside = String::new();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    inside.push(c);
                }
                out.push(inside.trim_matches(['\'', '"']).to_string());
                if chars.peek() == Some(&'.') {
                    chars.next();
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn lookup(reference: &str, scope: &dyn Scope, secrets: Secrets) -> Result<Value, ParamError> {
    let segs = segments(reference);
    let Some(head) = segs.first() else { return Ok(Value::Null) };
    let second = segs.get(1).map(String::as_str).unwrap_or_default();
    let (base, rest): (Option<Cow<'_, Value>>, &[String]) = match head.as_str() {
        "workflow" if second == "secrets" => {
            let name = segs.get(2).cloned().unwrap_or_default();
            if let Some(why) = scope.secret_denied(&name) {
                return Err(ParamError::Denied(why));
            }
            let value = scope.secret(&name).ok_or(ParamError::UnknownSecret(name))?;
            return Ok(Value::String(if secrets == Secrets::Reveal { value } else { MASK.into() }));
        }
        "env" => return env_value(scope, second, secrets),
        "CPEWF_TASK_ID" if segs.len() == 1 => {
            return Ok(scope.current_task_id().map(|id| Value::String(id.to_string())).unwrap_or(Value::Null));
        }
        "NETFLIX_ENV" | "NETFLIX_STACK" if segs.len() == 1 => return env_value(scope, head, secrets),
        "workflow" => (scope.workflow_field(second), segs.get(2..).unwrap_or_default()),
        task => (scope.task_field(task, second), segs.get(2..).unwrap_or_default()),
    };
    let Some(base) = base else { return Ok(Value::Null) };
    Ok(navigate(&base, rest).cloned().unwrap_or(Value::Null))
}

/// Environment variable `name` where the deployment allows it (masked unless revealed), else null.
fn env_value(scope: &dyn Scope, name: &str, secrets: Secrets) -> Result<Value, ParamError> {
    if let Some(why) = scope.env_denied(name) {
        return Err(ParamError::Denied(why));
    }
    Ok(match scope.env(name) {
        Some(value) if secrets == Secrets::Reveal => Value::String(value),
        Some(_) => Value::String(MASK.into()),
        None => Value::Null,
    })
}

/// Follows object keys and array indexes.
pub fn navigate<'v>(mut value: &'v Value, path: &[String]) -> Option<&'v Value> {
    for seg in path {
        value = match value {
            Value::Object(map) => map.get(seg)?,
            Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// The fields `${workflow.FIELD}` can read (and `secrets`).
pub const WORKFLOW_FIELDS: [&str; 15] = [
    "input",
    "output",
    "variables",
    "workflowId",
    "instanceId",
    "workflowType",
    "name",
    "version",
    "status",
    "correlationId",
    "createTime",
    "startTime",
    "parentWorkflowId",
    "scheduledTime",
    "secrets",
];

/// A `${...}` found in a definition: a reference, or an opening that is never closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// `${reference}`, trimmed.
    Reference(String),
    /// `${` with no `}` after it: the text from there on.
    Unclosed(String),
}

/// Every `${...}` reference in `value`, with the field path where it appears.
pub fn references(value: &Value, path: &str) -> Vec<(String, String)> {
    find_all(value, path)
        .into_iter()
        .filter_map(|(at, f)| match f {
            Found::Reference(r) => Some((at, r)),
            Found::Unclosed(_) => None,
        })
        .collect()
}

/// Every `${...}` in `value`, closed or not, with the field path where it appears.
pub fn find_all(value: &Value, path: &str) -> Vec<(String, Found)> {
    let mut out = Vec::new();
    collect_refs(value, path, &mut out);
    out
}

fn collect_refs(value: &Value, path: &str, out: &mut Vec<(String, Found)>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find("${") {
                let escaped = start > 0 && rest.as_bytes()[start - 1] == b'$';
                let Some(len) = rest[start..].find('}') else {
                    if !escaped {
                        out.push((path.to_string(), Found::Unclosed(rest[start..].to_string())));
                    }
                    break;
                };
                if !escaped {
                    out.push((path.to_string(), Found::Reference(rest[start + 2..start + len].trim().to_string())));
                }
                rest = &rest[start + len + 1..];
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_refs(v, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                collect_refs(v, &join_key(path, k), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixture(Value);

    impl Scope for Fixture {
        fn workflow_field(&self, name: &str) -> Option<Cow<'_, Value>> {
            self.0.get("workflow")?.get(name).map(Cow::Borrowed)
        }
        fn task_field(&self, r: &str, field: &str) -> Option<Cow<'_, Value>> {
            self.0.get(r)?.get(field).map(Cow::Borrowed)
        }
        fn secret(&self, name: &str) -> Option<String> {
            (name == "token").then(|| "s3cr3t".into())
        }
        fn env(&self, _: &str) -> Option<String> {
            None
        }
    }

    fn fixture() -> Fixture {
        Fixture(json!({
            "workflow": {"input": {"n": 5, "name": "x"}, "workflowId": "wf-1"},
            "fetch": {"output": {"response": {"body": {"items": [{"id": 7}, {"id": 8}]}}}}
        }))
    }

    #[test]
    fn secret_names_are_read_as_resolution_reads_them() {
        assert_eq!(secret_name("workflow.secrets.pd").as_deref(), Some("pd"));
        assert_eq!(secret_name("workflow.secrets['a b']").as_deref(), Some("a b"));
        assert_eq!(secret_name("workflow.secrets.pd.field").as_deref(), Some("pd"));
        assert_eq!(secret_name("workflow.input.x"), None);
        assert_eq!(secret_name("env.X"), None);
    }

    #[test]
    fn whole_reference_keeps_json_type() {
        let v = resolve(&json!("${workflow.input.n}"), &fixture(), Secrets::Reveal).unwrap();
        assert_eq!(v, json!(5));
        let v = resolve(&json!("${fetch.output.response.body.items[1].id}"), &fixture(), Secrets::Reveal).unwrap();
        assert_eq!(v, json!(8));
        let v = resolve(&json!("${fetch.output.response.body.items}"), &fixture(), Secrets::Reveal).unwrap();
        assert_eq!(v, json!([{"id": 7}, {"id": 8}]));
    }

    #[test]
    fn embedded_references_render_into_text() {
        let v = resolve(
            &json!("id=${workflow.workflowId}&n=${workflow.input.n}&o=${fetch.output.response.body.items[0]}"),
            &fixture(),
            Secrets::Reveal,
        )
        .unwrap();
        assert_eq!(v, json!("id=wf-1&n=5&o={\"id\":7}"));
    }

    #[test]
    fn missing_values_are_null_and_escapes_stay_literal() {
        let v = resolve(&json!({"a": "${nope.output.x}", "b": "cost $${price}"}), &fixture(), Secrets::Reveal).unwrap();
        assert_eq!(v, json!({"a": null, "b": "cost ${price}"}));
    }

    #[test]
    fn secrets_are_masked_unless_revealed() {
        let t = json!({"h": "Bearer ${workflow.secrets.token}"});
        assert_eq!(resolve(&t, &fixture(), Secrets::Reveal).unwrap(), json!({"h": "Bearer s3cr3t"}));
        assert_eq!(resolve(&t, &fixture(), Secrets::Mask).unwrap(), json!({"h": "Bearer ***"}));
        let err = resolve(&json!("${workflow.secrets.nope}"), &fixture(), Secrets::Mask).unwrap_err();
        assert_eq!(err, ParamError::UnknownSecret("nope".into()));
    }

    #[test]
    fn finds_references_with_paths() {
        let refs = references(&json!({"a": ["x ${t1.output.y} ${workflow.input.z}"]}), "inputParameters");
        assert_eq!(
            refs,
            vec![
                ("inputParameters.a[0]".to_string(), "t1.output.y".to_string()),
                ("inputParameters.a[0]".to_string(), "workflow.input.z".to_string()),
            ]
        );
    }
}
