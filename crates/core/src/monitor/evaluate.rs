//! One answer from a source → one reading per series: its value, its tier, and the summary its
//! notices carry. Pure: the runtime, `vigil check` and `vigil test` all call [`evaluate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{MissingSeries, MonitorDef, NoData, OnError};
use crate::alert::{Tier, default_key};

/// One series in an answer: its labels (InfluxDB tags, Prometheus labels, SQL label columns) and
/// its fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Identifies the series.
    pub labels: BTreeMap<String, String>,
    /// Values by name.
    pub fields: Map<String, Value>,
    /// A tier the source judged itself (an HTTP check's conditions); thresholds, when the
    /// monitor has any, decide instead.
    pub tier: Option<Tier>,
    /// What the source says about it (an HTTP check's failed conditions).
    pub note: Option<String>,
}

/// What a source answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Series (possibly none).
    Samples(Vec<Sample>),
    /// The source could not be asked, or answered with an error.
    Failed(String),
}

/// The series a monitor has seen, kept between runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Memory {
    /// By dedup key.
    pub series: SeriesMap,
    /// Every series that may have an alert open is in `series` (the runtime read the stored
    /// alerts, and nothing else has observed this monitor's keys since). A series first seen
    /// then has no alert to resolve, so it counts as having passed for ever until it fails
    /// ([`Seen::passing`]): its passes need not be told. Off in `vigil check` and `vigil test`,
    /// and after a cluster node gains partitions.
    pub alerts_known: bool,
}

/// Series by dedup key: a vector sorted by key. Most monitors have one series, and a `BTreeMap`'s
/// smallest node holds eleven (about 900 bytes for one series, 9 MB at 10,000 monitors); a key is
/// found by binary search. Keys are boxed texts: a series then takes 64 bytes, mimalloc's 64-byte
/// class, where a `String` key made it 72, rounded up to 80.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesMap(Vec<(Box<str>, Seen)>);

impl SeriesMap {
    fn find(&self, key: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(key))
    }

    /// The series `key`.
    pub fn get(&self, key: &str) -> Option<&Seen> {
        self.find(key).ok().map(|at| &self.0[at].1)
    }

    /// The series `key`, to change.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Seen> {
        self.find(key).ok().map(|at| &mut self.0[at].1)
    }

    /// Sets the series `key` (made if missing).
    pub fn insert(&mut self, key: String, seen: Seen) {
        match self.find(&key) {
            Ok(at) => self.0[at].1 = seen,
            Err(at) => {
                if self.0.capacity() == 0 {
                    self.0.reserve_exact(1);
                }
                self.0.insert(at, (key.into_boxed_str(), seen));
            }
        }
    }

    /// Makes the series `key` with `seen` unless it exists.
    pub fn or_insert(&mut self, key: String, seen: Seen) {
        if self.find(&key).is_err() {
            self.insert(key, seen);
        }
    }

    /// Every series, to change.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Seen> {
        self.0.iter_mut().map(|(_, s)| s)
    }

    /// Forgets the series `key`.
    pub fn remove(&mut self, key: &str) -> Option<Seen> {
        self.find(key).ok().map(|at| self.0.remove(at).1)
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| &**k)
    }

    /// How many series.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A series seen before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Its labels (the monitor's and its own).
    pub labels: BTreeMap<String, String>,
    /// Answers in a row it was missing from.
    pub missing: u32,
    /// Its last value.
    #[serde(default)]
    pub value: Option<f64>,
    /// Passing readings in a row, counted by this process (not kept): once the alert manager has
    /// heard enough of them to have resolved the series, more change nothing there. A series
    /// first seen while [`Memory::alerts_known`] starts at [`Seen::NEVER_FAILED`].
    #[serde(skip)]
    pub passing: u32,
}

impl Seen {
    /// The passing count of a series that has not failed since it was first seen, and had no
    /// alert then: as many passes as can be counted.
    pub const NEVER_FAILED: u32 = u32::MAX;

    /// Counts a reading at `tier` (`None` observes nothing and counts nothing).
    fn count(&mut self, tier: Option<Tier>) {
        match tier {
            Some(Tier::Ok) => self.passing = self.passing.saturating_add(1),
            Some(_) => self.passing = 0,
            None => {}
        }
    }
}

/// One series after one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The dedup key of its alert.
    pub key: String,
    /// The monitor's labels and the series' own.
    pub labels: BTreeMap<String, String>,
    /// The value compared, when there was one.
    pub value: Option<f64>,
    /// The tier to observe; `None` observes nothing (`keep`).
    pub tier: Option<Tier>,
    /// The rendered summary.
    pub summary: String,
    /// Why there is no value: `no data`, `missing from the answer`, or the source's error.
    pub note: Option<String>,
}

/// Evaluates one answer.
pub fn evaluate(def: &MonitorDef, memory: &mut Memory, answer: &Answer) -> Vec<Reading> {
    // As long as the answer's series (a vector grown from empty keeps room for four readings,
    // and the runtime keeps each monitor's last readings).
    let mut out = Vec::with_capacity(match answer {
        Answer::Samples(samples) => samples.len().max(1),
        Answer::Failed(_) => 1,
    });
    match answer {
        Answer::Failed(error) => {
            let tier = match def.on_error {
                OnError::Keep => None,
                OnError::Tier(t) => Some(t),
            };
            out.push(reading(def, memory, &BTreeMap::new(), None, tier, Some(format!("source error: {error}"))));
            return out;
        }
        Answer::Samples(samples) if samples.is_empty() => {
            out.push(reading(def, memory, &BTreeMap::new(), None, no_data(def), Some("no data".into())));
        }
        Answer::Samples(samples) => {
            for sample in samples {
                let value = pick(&sample.fields, def.value.as_deref());
                let judged = def.warning.is_some() || def.critical.is_some();
                let (tier, note) = match (value, judged) {
                    (Some(v), true) => (Some(tier_of(def, v)), sample.note.clone()),
                    (_, false) => (Some(sample.tier.unwrap_or(Tier::Ok)), sample.note.clone()),
                    (None, true) => (no_data(def), sample.note.clone().or_else(|| Some("no data".into()))),
                };
                out.push(reading(def, memory, &sample.labels, value, tier, note));
            }
        }
    }
    // Every key read is in memory now, so when memory holds no more series than were read
    // (and those are distinct, as one series always is), none is missing.
    let missing: Vec<String> = if out.len() == 1 && memory.series.len() == 1 {
        Vec::new()
    } else {
        let mut present: Vec<&str> = out.iter().map(|r| r.key.as_str()).collect();
        present.sort_unstable();
        memory.series.keys().filter(|k| present.binary_search(k).is_err()).map(str::to_string).collect()
    };
    let mut gone = Vec::new();
    for key in missing {
        let seen = memory.series.get_mut(&key).expect("listed");
        seen.missing += 1;
        let tier = match def.missing_series {
            MissingSeries::Keep => None,
            MissingSeries::NoData => no_data(def),
            MissingSeries::Resolve => {
                if seen.missing >= def.rule.resolve_after.max(1) {
                    gone.push(key.clone());
                }
                Some(Tier::Ok)
            }
        };
        seen.count(tier);
        let (labels, last) = (seen.labels.clone(), seen.value);
        let note = Some(MISSING.to_string());
        // Told with its last value, and why it changed.
        let summary = missing_summary(def, &labels, last, tier);
        out.push(Reading { key, labels, value: None, tier, summary, note });
    }
    for key in gone {
        memory.series.remove(&key);
    }
    out
}

/// The note of a series' reading when the answer no longer has it.
pub const MISSING: &str = "missing from the answer";

/// The summary of a series missing from the answer: rendered with its last value.
fn missing_summary(
    def: &MonitorDef,
    labels: &BTreeMap<String, String>,
    last: Option<f64>,
    tier: Option<Tier>,
) -> String {
    format!("{} (no longer in the answer)", render(&def.summary, def, labels, last, tier, None))
}

/// A reading's summary rendered again from what is kept of it (its series' key, labels, value,
/// tier and note), as [`evaluate`] rendered it: the runtime keeps no rendered summaries.
pub fn summary_of(
    def: &MonitorDef,
    memory: &Memory,
    key: &str,
    labels: &BTreeMap<String, String>,
    value: Option<f64>,
    tier: Option<Tier>,
    note: Option<&str>,
) -> String {
    if value.is_none() && note == Some(MISSING) {
        return missing_summary(def, labels, memory.series.get(key).and_then(|s| s.value), tier);
    }
    render(&def.summary, def, labels, value, tier, note)
}

fn no_data(def: &MonitorDef) -> Option<Tier> {
    match def.no_data {
        NoData::Keep => None,
        NoData::Tier(t) => Some(t),
    }
}

/// The tier a value puts a series in.
pub fn tier_of(def: &MonitorDef, value: f64) -> Tier {
    if def.critical.is_some_and(|t| t.met_by(value)) {
        Tier::Critical
    } else if def.warning.is_some_and(|t| t.met_by(value)) {
        Tier::Warning
    } else {
        Tier::Ok
    }
}

/// A reading of the series with `own` labels, remembered as seen.
fn reading(
    def: &MonitorDef,
    memory: &mut Memory,
    own: &BTreeMap<String, String>,
    value: Option<f64>,
    tier: Option<Tier>,
    note: Option<String>,
) -> Reading {
    let mut labels = def.labels.clone();
    labels.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    let key = match &def.dedup_key {
        Some(template) => render(template, def, &labels, value, tier, note.as_deref()),
        None => default_key("monitor", &def.name, own),
    };
    match memory.series.get_mut(&key) {
        Some(seen) => {
            if seen.labels != labels {
                seen.labels = labels.clone();
            }
            seen.missing = 0;
            seen.value = value.or(seen.value);
            seen.count(tier);
        }
        None => {
            let passing = if memory.alerts_known { Seen::NEVER_FAILED } else { 0 };
            let mut seen = Seen { labels: labels.clone(), missing: 0, value, passing };
            seen.count(tier);
            memory.series.insert(key.clone(), seen);
        }
    }
    let summary = render(&def.summary, def, &labels, value, tier, note.as_deref());
    Reading { key, labels, value, tier, summary, note }
}

/// The field `name` of a row as a number: a field of that name, or a JSON path into the fields
/// (`data.ratio`, `items[0].n`). Without a name, the row's only numeric field, or else its
/// `response_time` (a probe's sample: HTTP, TCP, UDP, ICMP, DNS), so a check's value is its
/// response time unless its file says otherwise.
pub fn pick(fields: &Map<String, Value>, name: Option<&str>) -> Option<f64> {
    let found = match name {
        Some(name) => fields.get(name).or_else(|| path(fields, name)),
        None => {
            let mut numeric = fields.values().filter(|v| number(v).is_some());
            match (numeric.next(), numeric.next()) {
                (Some(only), None) => Some(only),
                _ => fields.get("response_time"),
            }
        }
    };
    found.and_then(number)
}

fn path<'a>(fields: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (first, rest) = path.split_once('.').unwrap_or((path, ""));
    let at = index(fields.get(strip_index(first).0)?, first)?;
    if rest.is_empty() { Some(at) } else { json_path(at, rest) }
}

/// `data.items[0].ok` inside a JSON value; the empty path is the value itself.
pub fn json_path<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(value);
    }
    let mut at = value;
    for part in path.split('.') {
        let key = strip_index(part).0;
        let next = if key.is_empty() { at } else { at.get(key)? };
        at = index(next, part)?;
    }
    Some(at)
}

/// Splits `items[0]` into `items` and its indexes.
fn strip_index(part: &str) -> (&str, &str) {
    match part.find('[') {
        Some(i) => (&part[..i], &part[i..]),
        None => (part, ""),
    }
}

/// Applies the `[n]` indexes of `part` to `value`.
fn index<'a>(mut value: &'a Value, part: &str) -> Option<&'a Value> {
    let mut indexes = strip_index(part).1;
    while let Some(rest) = indexes.strip_prefix('[') {
        let close = rest.find(']')?;
        value = value.get(rest[..close].parse::<usize>().ok()?)?;
        indexes = &rest[close + 1..];
    }
    Some(value)
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        _ => None,
    }
}

/// Renders a summary or dedup key template for one series.
pub fn render(
    template: &str,
    def: &MonitorDef,
    labels: &BTreeMap<String, String>,
    value: Option<f64>,
    tier: Option<Tier>,
    note: Option<&str>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let reference = &rest[start + 2..start + end];
        match reference {
            "value" => match value {
                Some(v) => {
                    use std::fmt::Write;
                    let _ = write!(out, "{v}");
                }
                None => out.push_str("no value"),
            },
            "tier" => out.push_str(tier.map_or("unchanged", Tier::as_str)),
            "monitor" => out.push_str(&def.name),
            "error" => out.push_str(note.unwrap_or_default()),
            other => match other.strip_prefix("labels.") {
                Some(label) => out.push_str(labels.get(label).map(String::as_str).unwrap_or_default()),
                None => out.push_str(&rest[start..start + end + 1]),
            },
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}
