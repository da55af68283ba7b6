//! An alert as Prometheus posts it to Alertmanager (`POST /api/v2/alerts`): labels (its
//! identity), annotations, `startsAt`, `endsAt`, `generatorURL`. Read, given defaults and checked
//! as Alertmanager's `postAlertsHandler` and `Alert.Validate` do, and merged with the alert of the
//! same labels already known as `Alert.Merge` merges them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::time::Millis;

/// A posted alert, with Alertmanager's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alert {
    /// Its identity (`alertname` and the rest).
    pub labels: BTreeMap<String, String>,
    /// Its details (`summary`, `description`, ...).
    pub annotations: BTreeMap<String, String>,
    /// When it began.
    pub starts_at: Millis,
    /// When it ends: in the future while firing; a past time resolves it.
    pub ends_at: Millis,
    /// The link back to what raised it.
    pub generator_url: String,
    /// When it was last posted: the younger of two views wins.
    pub updated_at: Millis,
    /// `endsAt` was not given: it is `now + resolve_timeout`, a guess a real end time overrides.
    pub timeout: bool,
    /// Where the runtime keeps it in its group (its stored row's id; 0 before it has one): kept
    /// through merges, not part of its JSON.
    #[serde(skip)]
    pub row: i64,
}

impl Alert {
    /// Its fingerprint: its identity among alerts.
    pub fn fingerprint(&self) -> u64 {
        super::fingerprint(&self.labels)
    }

    /// Whether it is resolved at `now` (its end time has come).
    pub fn resolved_at(&self, now: Millis) -> bool {
        self.ends_at != 0 && self.ends_at <= now
    }

    /// The alert this one and `other` (the same labels) make together, as Alertmanager's
    /// `Alert.Merge`: the younger by `updated_at` gives the content; the earliest start wins;
    /// while it is firing, an earlier view's later end counts unless that end was a guess.
    pub fn merge(&self, other: &Alert, now: Millis) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self, now);
        }
        let mut res = other.clone();
        if self.starts_at < other.starts_at {
            res.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }
}

/// Reads `POST /api/v2/alerts`' body at `now`: the alerts that are valid, and one message per
/// alert that is not (Alertmanager keeps the valid ones and answers 400 with the others' errors).
/// `resolve_timeout` ends an alert posted without `endsAt` unless it is posted again.
pub fn read_posted(body: &Value, now: Millis, resolve_timeout: Millis) -> Result<(Vec<Alert>, Vec<String>), String> {
    let Value::Array(items) = body else {
        return Err("the body is a list of alerts".into());
    };
    let mut alerts = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match read_one(item, now, resolve_timeout) {
            Ok(alert) => alerts.push(alert),
            Err(e) => errors.push(format!("alerts[{i}]: {e}")),
        }
    }
    Ok((alerts, errors))
}

/// A posted alert whose every field has the type the API gives it: read straight from the body,
/// without a JSON value in between.
#[derive(serde::Deserialize)]
struct Posted {
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
    #[serde(default, rename = "startsAt")]
    starts_at: Option<String>,
    #[serde(default, rename = "endsAt")]
    ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
}

/// [`read_posted`] from the body's bytes. A body of well-typed alerts (what Prometheus sends) is
/// read straight into them; any other is read as JSON first, so each bad alert is named.
pub fn read_posted_bytes(
    body: &[u8],
    now: Millis,
    resolve_timeout: Millis,
) -> Result<(Vec<Alert>, Vec<String>), String> {
    if let Ok(items) = serde_json::from_slice::<Vec<Posted>>(body) {
        let mut alerts = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for (i, p) in items.into_iter().enumerate() {
            let time = |t: Option<&str>, field| t.map_or(Ok(0), |t| parse_time_text(t, field));
            let read = time(p.starts_at.as_deref(), "startsAt").and_then(|starts| {
                let ends = time(p.ends_at.as_deref(), "endsAt")?;
                let url = p.generator_url.unwrap_or_default();
                complete(p.labels, p.annotations.unwrap_or_default(), starts, ends, url, now, resolve_timeout)
            });
            match read {
                Ok(alert) => alerts.push(alert),
                Err(e) => errors.push(format!("alerts[{i}]: {e}")),
            }
        }
        return Ok((alerts, errors));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))?;
    read_posted(&value, now, resolve_timeout)
}

fn read_one(item: &Value, now: Millis, resolve_timeout: Millis) -> Result<Alert, String> {
    let Value::Object(obj) = item else { return Err("an alert is an object".into()) };
    let labels = match obj.get("labels") {
        Some(v) => strings(v, "labels")?,
        None => return Err("labels in body is required".into()),
    };
    let annotations = match obj.get("annotations") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(v) => strings(v, "annotations")?,
    };
    let starts_at = parse_time(obj.get("startsAt"), "startsAt")?;
    let ends_at = parse_time(obj.get("endsAt"), "endsAt")?;
    let generator_url = match obj.get("generatorURL") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("generatorURL in body must be of type uri: {other}")),
    };
    complete(labels, annotations, starts_at, ends_at, generator_url, now, resolve_timeout)
}

/// An alert posted with these fields at `now`, with Alertmanager's defaults, checked.
fn complete(
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    mut starts_at: Millis,
    mut ends_at: Millis,
    generator_url: String,
    now: Millis,
    resolve_timeout: Millis,
) -> Result<Alert, String> {
    if starts_at == 0 {
        starts_at = if ends_at == 0 { now } else { ends_at };
    }
    let timeout = ends_at == 0;
    if timeout {
        ends_at = now + resolve_timeout;
    }
    // Alertmanager drops labels with an empty value before it checks the rest.
    let labels: BTreeMap<String, String> = labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
    let alert = Alert { labels, annotations, starts_at, ends_at, generator_url, updated_at: now, timeout, row: 0 };
    validate(&alert)?;
    Ok(alert)
}

/// Alertmanager's `Alert.Validate` (UTF-8 label names: any non-empty name).
fn validate(a: &Alert) -> Result<(), String> {
    if a.ends_at != 0 && a.ends_at < a.starts_at {
        return Err("start time must be before end time".into());
    }
    if a.labels.is_empty() {
        return Err("at least one label pair required".into());
    }
    if let Some(name) = a.labels.keys().find(|k| k.is_empty()) {
        return Err(format!("invalid label set: invalid name {name:?}"));
    }
    if let Some(name) = a.annotations.keys().find(|k| k.is_empty()) {
        return Err(format!("invalid annotations: invalid name {name:?}"));
    }
    Ok(())
}

/// A map of strings (`labels`, `annotations`).
fn strings(v: &Value, field: &str) -> Result<BTreeMap<String, String>, String> {
    let Value::Object(map) = v else { return Err(format!("{field} in body must be of type object")) };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(format!("{field}.{k} in body must be of type string: {other}")),
        })
        .collect()
}

/// An RFC 3339 time of Alertmanager's API (field `field`) in milliseconds; 0 when absent or
/// Go's zero time.
pub fn parse_time(v: Option<&Value>, field: &str) -> Result<Millis, String> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => parse_time_text(s, field),
        Some(other) => Err(format!("{field} in body must be of type date-time: {other}")),
    }
}

/// [`parse_time`] of a string.
fn parse_time_text(s: &str, field: &str) -> Result<Millis, String> {
    if s.is_empty() || s.starts_with("0001-01-01T00:00:00") {
        return Ok(0);
    }
    s.parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| format!("{field} in body must be of type date-time: {s:?} ({e})"))
}

#[cfg(test)]
#[path = "alert_tests.rs"]
mod tests;
