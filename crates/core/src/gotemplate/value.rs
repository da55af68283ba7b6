//! The values a template run passes around, and Go's rules for them: truth and printing.

use serde_json::Value;

/// An error while running a template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExecError(pub String);

/// A value during a run: JSON, and whether HTML escaping leaves it alone.
#[derive(Debug, Clone, PartialEq)]
pub struct V {
    /// The value.
    pub v: Value,
    /// Made by `safeHtml` or `safeUrl`.
    pub safe: bool,
}

impl V {
    /// A value that is escaped as usual.
    pub fn of(v: Value) -> V {
        V { v, safe: false }
    }
}

/// Go's truth: false, 0, nil, and empty strings, lists and maps are false.
pub fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// How Go's `fmt` prints a value: strings bare, lists `[a b]`, maps `map[k:v]`, nil `<no value>`.
pub fn print(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => format!("[{}]", a.iter().map(inner).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            format!(
                "map[{}]",
                sorted_pairs(m).iter().map(|(k, v)| format!("{k}:{}", inner(v))).collect::<Vec<_>>().join(" ")
            )
        }
    }
}

fn inner(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Object(m) if m.len() == 2 && m.contains_key("Name") && m.contains_key("Value") => {
            format!("{{{} {}}}", print(&m["Name"]), print(&m["Value"]))
        }
        other => print(other),
    }
}

/// The entries of `m` in key order.
pub fn sorted_pairs(m: &serde_json::Map<String, Value>) -> Vec<(String, Value)> {
    let mut pairs: Vec<(String, Value)> = m.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}
