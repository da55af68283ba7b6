//! Maps field paths (`tasks[2].inputParameters.uri`) to line and column in the source text.
//!
//! Definitions are deserialized into `serde_json::Value` first; validation then reports problems by
//! field path. This module walks the same text with the YAML event parser (YAML 1.2 reads JSON too)
//! and records where every key and item starts, so each problem can name its `file:line:col`.

use std::collections::HashMap;

use granit_parser::{Event, Parser};

/// Positions of every node in one document, keyed by field path.
#[derive(Debug, Default)]
pub struct SourceMap {
    positions: HashMap<String, (usize, usize)>,
}

enum Frame {
    Map { path: String, pending_key: Option<String> },
    Seq { path: String, next: usize },
}

impl SourceMap {
    /// Builds the map for `text`. Text that does not parse yields a partial map; syntax errors are
    /// reported by the deserializer, not here.
    pub fn build(text: &str) -> Self {
        let mut map = Self::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { break };
            let at = (span.start.line(), span.start.col() + 1);
            match event {
                Event::MappingStart(..) => {
                    let path = map.child_path(&mut stack, at);
                    stack.push(Frame::Map { path, pending_key: None });
                }
                Event::SequenceStart(..) => {
                    let path = map.child_path(&mut stack, at);
                    stack.push(Frame::Seq { path, next: 0 });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                Event::Scalar(value, ..) => {
                    if let Some(Frame::Map { path, pending_key }) = stack.last_mut()
                        && pending_key.is_none()
                    {
                        let key_path = join_key(path, &value);
                        map.positions.entry(key_path.clone()).or_insert(at);
                        *pending_key = Some(key_path);
                        continue;
                    }
                    map.child_path(&mut stack, at);
                }
                Event::Alias(_) => {
                    map.child_path(&mut stack, at);
                }
                _ => {}
            }
        }
        map
    }

    /// Records a child node of the innermost collection and returns its path.
    fn child_path(&mut self, stack: &mut [Frame], at: (usize, usize)) -> String {
        let path = match stack.last_mut() {
            None => String::new(),
            Some(Frame::Map { pending_key, .. }) => pending_key.take().unwrap_or_default(),
            Some(Frame::Seq { path, next }) => {
                let p = format!("{path}[{next}]");
                *next += 1;
                p
            }
        };
        self.positions.entry(path.clone()).or_insert(at);
        path
    }

    /// The position of `path`, or of its nearest ancestor that has one; (1, 1) when nothing matches.
    pub fn position(&self, path: &str) -> (usize, usize) {
        let mut current = path;
        loop {
            if let Some(at) = self.positions.get(current) {
                return *at;
            }
            match current.rfind(['.', '[']) {
                Some(cut) => current = &current[..cut],
                None => return self.positions.get("").copied().unwrap_or((1, 1)),
            }
        }
    }

    /// Problem `p` of the text this map was built from, located in `file`.
    pub fn locate(&self, file: &std::path::Path, p: crate::diagnostic::Problem) -> crate::diagnostic::Diagnostic {
        let (line, column) = self.position(&p.path);
        crate::diagnostic::Diagnostic {
            severity: p.severity,
            file: file.to_path_buf(),
            line,
            column,
            path: p.path,
            message: p.message,
            hint: p.hint,
        }
    }
}

/// Appends an object key to a path.
pub fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_yaml_keys_and_items() {
        let text = "name: a\ntasks:\n  - name: x\n    type: HTTP\n  - name: y\n    type: NOPE\n";
        let map = SourceMap::build(text);
        assert_eq!(map.position("name"), (1, 1));
        assert_eq!(map.position("tasks[1].type"), (6, 5));
        assert_eq!(map.position("tasks[1].inputParameters.uri"), (5, 5));
    }

    #[test]
    fn finds_json_keys() {
        let text = "{\n  \"name\": \"a\",\n  \"tasks\": [\n    {\"name\": \"x\", \"type\": \"NOPE\"}\n  ]\n}";
        let map = SourceMap::build(text);
        assert_eq!(map.position("tasks[0].type"), (4, 19));
    }
}
