//! Reading one YAML mapping field by field, with every problem at its field path: what the
//! section parsers share.

use serde_json::{Map, Value};

use crate::diagnostic::{Problem, did_you_mean};
use crate::locate::join_key;
use crate::time::Millis;

/// The fields of one mapping at `path`, taken one by one; [`Fields::finish`] reports the rest
/// as unknown (Alertmanager reads its configuration strictly too).
pub(super) struct Fields<'a> {
    pub path: String,
    map: Option<&'a Map<String, Value>>,
    known: Vec<&'static str>,
}

impl<'a> Fields<'a> {
    /// The mapping `value` at `path`; anything else is a problem (and reads as empty).
    pub fn of(value: &'a Value, path: &str, problems: &mut Vec<Problem>) -> Self {
        let map = match value {
            Value::Object(m) => Some(m),
            Value::Null => None,
            _ => {
                problems.push(Problem::error(path, "expected a mapping"));
                None
            }
        };
        Self { path: path.to_string(), map, known: Vec::new() }
    }

    /// The path of field `key`.
    pub fn at(&self, key: &str) -> String {
        join_key(&self.path, key)
    }

    /// Field `key`, if present and not null.
    pub fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map?.get(key).filter(|v| !v.is_null())
    }

    /// Whether field `key` is present (even null).
    pub fn has(&self, key: &str) -> bool {
        self.map.is_some_and(|m| m.contains_key(key))
    }

    /// String field `key`.
    pub fn string(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Option<String> {
        let v = self.get(key)?;
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => {
                problems.push(Problem::error(self.at(key), "expected a string"));
                None
            }
        }
    }

    /// Boolean field `key`.
    pub fn boolean(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Option<bool> {
        let v = self.get(key)?;
        let b = v.as_bool();
        if b.is_none() {
            problems.push(Problem::error(self.at(key), "expected true or false"));
        }
        b
    }

    /// Duration field `key` (`30s`, `1h30m`).
    pub fn duration(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Option<Millis> {
        let s = self.string(key, problems)?;
        match super::duration::parse(&s) {
            Ok(ms) => Some(ms),
            Err(e) => {
                problems.push(Problem::error(self.at(key), e));
                None
            }
        }
    }

    /// List field `key`: its items with their paths.
    pub fn list(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Vec<(String, &'a Value)> {
        let path = self.at(key);
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect(),
            Some(_) => {
                problems.push(Problem::error(path, "expected a list"));
                Vec::new()
            }
        }
    }

    /// List-of-strings field `key`.
    pub fn strings(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Vec<(String, String)> {
        let items = self.list(key, problems);
        items
            .into_iter()
            .filter_map(|(path, v)| match v {
                Value::String(s) => Some((path, s.clone())),
                Value::Number(n) => Some((path, n.to_string())),
                _ => {
                    problems.push(Problem::error(path, "expected a string"));
                    None
                }
            })
            .collect()
    }

    /// Mapping-of-strings field `key` (`match:`, `match_re:`).
    pub fn string_map(&mut self, key: &'static str, problems: &mut Vec<Problem>) -> Vec<(String, String, String)> {
        let path = self.at(key);
        match self.get(key) {
            None => Vec::new(),
            Some(Value::Object(m)) => m
                .iter()
                .filter_map(|(k, v)| match v {
                    Value::String(s) => Some((join_key(&path, k), k.clone(), s.clone())),
                    Value::Number(n) => Some((join_key(&path, k), k.clone(), n.to_string())),
                    // Alertmanager reads a value left out as empty.
                    Value::Null => Some((join_key(&path, k), k.clone(), String::new())),
                    _ => {
                        problems.push(Problem::error(join_key(&path, k), "expected a string"));
                        None
                    }
                })
                .collect(),
            Some(_) => {
                problems.push(Problem::error(path, "expected a mapping of label names to values"));
                Vec::new()
            }
        }
    }

    /// Reports every field not taken, with the nearest known name.
    pub fn finish(self, problems: &mut Vec<Problem>) {
        let Some(map) = self.map else { return };
        for key in map.keys().filter(|k| !self.known.contains(&k.as_str())) {
            problems.push(
                Problem::error(join_key(&self.path, key), format!("unknown field `{key}`"))
                    .with_hint(did_you_mean(key, self.known.iter().copied())),
            );
        }
    }

    /// Takes field `key` without reading it (a section vigil keeps as written).
    pub fn keep(&mut self, key: &'static str) -> Option<&'a Value> {
        self.get(key)
    }
}
