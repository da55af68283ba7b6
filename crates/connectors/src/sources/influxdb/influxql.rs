//! InfluxQL answers: `{"results": [{"statement_id": 0, "series": [{"name", "tags", "columns",
//! "values"}]}]}`. A statement's `error` inside a 200 answer, or a top-level `error`, is a
//! failure.

use serde_json::{Map, Value};
use vigil_core::monitor::evaluate::{Answer, Sample};

use crate::sources::snippet;

/// Reads an InfluxQL answer.
pub fn parse(status: u16, body: &[u8]) -> Answer {
    let doc: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if !(200..300).contains(&status) => {
            return Answer::Failed(format!("influxdb answered {status}: {}", snippet(body)));
        }
        Err(e) => {
            return Answer::Failed(format!("influxdb answered something that is not JSON ({e}): {}", snippet(body)));
        }
    };
    if let Some(error) = doc.get("error").and_then(Value::as_str) {
        return Answer::Failed(format!("influxdb: {error}"));
    }
    if !(200..300).contains(&status) {
        return Answer::Failed(format!("influxdb answered {status}: {}", snippet(body)));
    }
    let mut samples = Vec::new();
    for result in doc.get("results").and_then(Value::as_array).into_iter().flatten() {
        if let Some(error) = result.get("error").and_then(Value::as_str) {
            return Answer::Failed(format!("influxdb: {error}"));
        }
        for series in result.get("series").and_then(Value::as_array).into_iter().flatten() {
            let labels = series
                .get("tags")
                .and_then(Value::as_object)
                .map(|tags| {
                    tags.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                        .collect()
                })
                .unwrap_or_default();
            let columns: Vec<&str> = series
                .get("columns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            // The last row is the newest (InfluxQL orders by time ascending).
            let Some(row) = series.get("values").and_then(Value::as_array).and_then(|rows| rows.last()) else {
                continue;
            };
            let fields: Map<String, Value> = columns
                .iter()
                .zip(row.as_array().into_iter().flatten())
                .map(|(c, v)| (c.to_string(), v.clone()))
                .collect();
            samples.push(Sample { labels, fields, ..Sample::default() });
        }
    }
    Answer::Samples(samples)
}
