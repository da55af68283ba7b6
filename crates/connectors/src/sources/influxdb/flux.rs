//! Flux answers: annotated CSV (`#datatype`, `#group`, `#default` rows, then a header and the
//! rows of one or more tables; a blank line may separate tables with different columns). An
//! `error` column is a failure; a non-2xx status carries `{"code", "message"}`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use vigil_core::monitor::evaluate::{Answer, Sample};

use crate::sources::snippet;

/// Group-key columns that are not series labels.
const NOT_LABELS: &[&str] = &["result", "table", "_start", "_stop"];

/// Reads a Flux answer.
pub fn parse(status: u16, body: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(body);
    if !(200..300).contains(&status) {
        let message = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| snippet(body));
        return Answer::Failed(format!("influxdb answered {status}: {message}"));
    }
    // Tables by (block, table id): the last row of each, in order of appearance.
    let mut order: Vec<(usize, String)> = Vec::new();
    let mut last: BTreeMap<(usize, String), Sample> = BTreeMap::new();
    for (block, lines) in blocks(&text).into_iter().enumerate() {
        let mut datatypes: Vec<String> = Vec::new();
        let mut group: Vec<bool> = Vec::new();
        let mut header: Option<Vec<String>> = None;
        for line in lines {
            let cells = split_csv(line);
            match cells.first().map(String::as_str) {
                Some("#datatype") => datatypes = cells,
                Some("#group") => group = cells.iter().map(|c| c == "true").collect(),
                Some(c) if c.starts_with('#') => {}
                _ if header.is_none() => header = Some(cells),
                _ => {
                    let columns = header.as_ref().expect("header read");
                    if let Some(i) = columns.iter().position(|c| c == "error") {
                        let message = cells.get(i).cloned().unwrap_or_default();
                        return Answer::Failed(format!("influxdb: {message}"));
                    }
                    let mut labels = BTreeMap::new();
                    let mut fields = Map::new();
                    let mut table = String::new();
                    for (i, column) in columns.iter().enumerate() {
                        let cell = cells.get(i).cloned().unwrap_or_default();
                        if column.is_empty() {
                            continue;
                        }
                        if column == "table" {
                            table = cell.clone();
                        }
                        if group.get(i).copied().unwrap_or(false) && !NOT_LABELS.contains(&column.as_str()) {
                            labels.insert(column.clone(), cell.clone());
                        }
                        fields.insert(column.clone(), typed(&cell, datatypes.get(i).map(String::as_str)));
                    }
                    let id = (block, table);
                    if !last.contains_key(&id) {
                        order.push(id.clone());
                    }
                    last.insert(id, Sample { labels, fields, ..Sample::default() });
                }
            }
        }
    }
    Answer::Samples(order.into_iter().filter_map(|id| last.remove(&id)).collect())
}

/// Splits the text at blank lines.
fn blocks(text: &str) -> Vec<Vec<&str>> {
    let mut out = vec![Vec::new()];
    for line in text.lines().map(|l| l.trim_end_matches('\r')) {
        if line.trim().is_empty() {
            if !out.last().is_some_and(Vec::is_empty) {
                out.push(Vec::new());
            }
        } else if let Some(block) = out.last_mut() {
            block.push(line);
        }
    }
    out.retain(|b| !b.is_empty());
    out
}

/// One CSV line (RFC 4180 quoting).
fn split_csv(line: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cell.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => cells.push(std::mem::take(&mut cell)),
            (c, _) => cell.push(c),
        }
    }
    cells.push(cell);
    cells
}

/// A cell as JSON by its `#datatype`.
fn typed(cell: &str, datatype: Option<&str>) -> Value {
    match datatype {
        Some("double") => {
            cell.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(Value::Null, Value::Number)
        }
        Some("long") => cell.parse::<i64>().map_or(Value::Null, Value::from),
        Some("unsignedLong") => cell.parse::<u64>().map_or(Value::Null, Value::from),
        Some("boolean") => Value::Bool(cell == "true"),
        _ if cell.is_empty() => Value::Null,
        _ => Value::String(cell.to_string()),
    }
}
