//! `tests:` blocks: canned source answers over a sequence of runs, and the tiers and notices
//! expected, checked offline on a manual clock (no network, no store). `vigil test` runs them.
//!
//! ```yaml
//! tests:
//!   - name: climbs and recovers
//!     values: [50, 85, 97, 60, 10]            # one series, one value per run (null: no value)
//!     expect: [ok, warning, critical, warning, ok]
//!     notices: [trigger, change, change, resolve]   # or a count: 4
//!   - name: a host drops out
//!     answers:                                 # one answer per run
//!       - [{labels: {host: a}, value: 10}, {labels: {host: b}, value: 97}]
//!       - [{labels: {host: a}, value: 10}]
//!       - {error: connection refused}
//!     expect: {"host=b": [critical, ok, ok]}   # per series, `-` where it has no alert yet
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::MonitorDef;
use super::evaluate::{Answer, Memory, Sample, evaluate};
use crate::alert::{AlertState, Notice, Observation, Tier};
use crate::diagnostic::Problem;

/// One test of a monitor.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorTest {
    /// Its name (`test N` when not given).
    pub name: String,
    /// One answer per run.
    pub answers: Vec<Answer>,
    /// Expected tier after each run, per series selector (`""` for the only series).
    pub expect: BTreeMap<String, Vec<Option<Tier>>>,
    /// Expected notices over all series, in order, or only their count.
    pub notices: Option<ExpectedNotices>,
}

/// What a test expects to be sent.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpectedNotices {
    /// These, in order.
    List(Vec<Notice>),
    /// This many.
    Count(usize),
}

/// One notice a run would send.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    /// The run, from 1.
    pub run: usize,
    /// The alert's dedup key.
    pub key: String,
    /// What.
    pub notice: Notice,
    /// The tier it is about.
    pub tier: Tier,
    /// The notifiers it would go to.
    pub notifiers: Vec<String>,
    /// Its summary.
    pub summary: String,
}

/// What a test run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The test's name.
    pub name: String,
    /// Everything that would have been sent.
    pub sent: Vec<Sent>,
    /// Mismatches, one line each; empty when the test passes.
    pub failures: Vec<String>,
}

/// Reads a monitor's `tests` block.
pub fn parse(value: &Value, value_field: Option<&str>, problems: &mut Vec<Problem>) -> Vec<MonitorTest> {
    let Value::Array(items) = value else {
        problems.push(Problem::error("tests", "`tests` is a list of tests"));
        return Vec::new();
    };
    let mut out = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let at = format!("tests[{n}]");
        let Some(obj) = item.as_object() else {
            problems.push(Problem::error(at, "a test is a map with `values` or `answers`, and `expect`"));
            continue;
        };
        let fields: (&[&str], &[&str]) = (&["name", "values", "answers", "expect", "notices"], &[]);
        crate::def::build::check_keys(obj, &at, fields, "test", crate::def::build::Unknown::Refused, problems);
        let name = obj.get("name").and_then(Value::as_str).map_or_else(|| format!("test {}", n + 1), str::to_string);
        let answers: Vec<Answer> = match (obj.get("values"), obj.get("answers")) {
            (Some(Value::Array(values)), None) => values
                .iter()
                .map(|v| {
                    let fields = nested_field(value_field.unwrap_or("value"), v.clone());
                    Answer::Samples(vec![Sample { fields, ..Sample::default() }])
                })
                .collect(),
            (None, Some(Value::Array(answers))) => answers
                .iter()
                .enumerate()
                .filter_map(|(j, a)| {
                    answer(a, value_field)
                        .map_err(|e| problems.push(Problem::error(format!("{at}.answers[{j}]"), e)))
                        .ok()
                })
                .collect(),
            _ => {
                problems
                    .push(Problem::error(at.clone(), "a test gives `values` (a list) or `answers` (a list), not both"));
                continue;
            }
        };
        let expect = match obj.get("expect") {
            Some(Value::Array(tiers)) => [(String::new(), read_tiers(tiers, &format!("{at}.expect"), problems))].into(),
            Some(Value::Object(per)) => per
                .iter()
                .map(|(series, tiers)| {
                    let path = format!("{at}.expect.{series}");
                    let list = match tiers {
                        Value::Array(t) => read_tiers(t, &path, problems),
                        _ => {
                            problems.push(Problem::error(path, "a list of tiers"));
                            Vec::new()
                        }
                    };
                    (series.clone(), list)
                })
                .collect(),
            None => BTreeMap::new(),
            Some(_) => {
                problems.push(Problem::error(format!("{at}.expect"), "a list of tiers, or a map of series to lists"));
                BTreeMap::new()
            }
        };
        for (series, tiers) in &expect {
            if tiers.len() != answers.len() {
                let path = if series.is_empty() { format!("{at}.expect") } else { format!("{at}.expect.{series}") };
                problems.push(Problem::error(path, format!("{} tiers for {} runs", tiers.len(), answers.len())));
            }
        }
        let notices = match obj.get("notices") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => n.as_u64().map(|n| ExpectedNotices::Count(n as usize)),
            Some(Value::Array(list)) => Some(ExpectedNotices::List(
                list.iter()
                    .enumerate()
                    .filter_map(|(j, v)| {
                        notice(v).map_err(|e| problems.push(Problem::error(format!("{at}.notices[{j}]"), e))).ok()
                    })
                    .collect(),
            )),
            Some(_) => {
                problems.push(Problem::error(format!("{at}.notices"), "a count or a list of notices"));
                None
            }
        };
        if expect.is_empty() && notices.is_none() {
            problems.push(Problem::error(at, "a test expects something: `expect` (tiers), `notices`, or both"));
            continue;
        }
        out.push(MonitorTest { name, answers, expect, notices });
    }
    out
}

fn answer(value: &Value, value_field: Option<&str>) -> Result<Answer, String> {
    let field = value_field.unwrap_or("value");
    let row = |v: &Value| -> Result<Sample, String> {
        let Some(obj) = v.as_object() else {
            return Err("a row is a map with `labels` and `value` (or `fields`)".into());
        };
        let labels = match obj.get("labels") {
            Some(Value::Object(m)) => {
                m.iter().map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string))).collect()
            }
            None => BTreeMap::new(),
            Some(_) => return Err("`labels` is a map".into()),
        };
        let mut fields = obj.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(v) = obj.get("value") {
            fields.insert(field.to_string(), v.clone());
        }
        Ok(Sample { labels, fields, ..Sample::default() })
    };
    match value {
        Value::Array(rows) => rows.iter().map(row).collect::<Result<Vec<_>, _>>().map(Answer::Samples),
        Value::Object(obj) if obj.contains_key("error") => {
            Ok(Answer::Failed(obj["error"].as_str().map_or_else(|| obj["error"].to_string(), str::to_string)))
        }
        Value::Object(_) => row(value).map(|s| Answer::Samples(vec![s])),
        Value::Number(_) | Value::Null => Ok(Answer::Samples(vec![Sample {
            fields: [(field.to_string(), value.clone())].into_iter().collect(),
            ..Sample::default()
        }])),
        other => Err(format!("an answer is a list of rows, a row, a number or `{{error: ...}}`, got {other}")),
    }
}

fn read_tiers(items: &[Value], at: &str, problems: &mut Vec<Problem>) -> Vec<Option<Tier>> {
    let one = |j: usize, v: &Value, problems: &mut Vec<Problem>| match v {
        Value::Null => None,
        Value::String(s) => match s.as_str() {
            "-" => None,
            "ok" => Some(Tier::Ok),
            "warning" => Some(Tier::Warning),
            "critical" => Some(Tier::Critical),
            _ => {
                problems.push(Problem::error(
                    format!("{at}[{j}]"),
                    format!("a tier is ok, warning, critical or -, got `{s}`"),
                ));
                None
            }
        },
        other => {
            problems.push(Problem::error(
                format!("{at}[{j}]"),
                format!("a tier is ok, warning, critical or -, got {other}"),
            ));
            None
        }
    };
    items.iter().enumerate().map(|(j, v)| one(j, v, problems)).collect()
}

fn notice(value: &Value) -> Result<Notice, String> {
    match value.as_str() {
        Some("trigger") => Ok(Notice::Trigger),
        Some("change") => Ok(Notice::Change),
        Some("remind") => Ok(Notice::Remind),
        Some("resolve") => Ok(Notice::Resolve),
        _ => Err(format!("a notice is trigger, change, remind or resolve, got {value}")),
    }
}

/// Whether a series' key or labels match a selector: `""` matches any one series, `host=b`
/// (comma-separated pairs) a series with those labels, anything else the dedup key itself.
fn selects(selector: &str, key: &str, labels: &BTreeMap<String, String>) -> bool {
    if selector.is_empty() || selector == key {
        return true;
    }
    selector.contains('=')
        && selector
            .split(',')
            .all(|pair| pair.split_once('=').is_some_and(|(k, v)| labels.get(k.trim()).is_some_and(|l| l == v.trim())))
}

/// Runs `test` against `def`, from `start` on a manual clock that moves one interval per run.
pub fn run(def: &MonitorDef, test: &MonitorTest, start: crate::time::Millis) -> Outcome {
    let mut memory = Memory::default();
    let mut alerts: BTreeMap<String, (AlertState, BTreeMap<String, String>)> = BTreeMap::new();
    let mut sent = Vec::new();
    let mut seen: BTreeMap<String, Vec<Option<Tier>>> = BTreeMap::new();
    let mut now = start;
    for (n, answer) in test.answers.iter().enumerate() {
        now = def.cadence.next_after(now).unwrap_or(now + 60_000);
        for reading in evaluate(def, &mut memory, answer) {
            let (state, labels) = alerts.entry(reading.key.clone()).or_default();
            *labels = reading.labels.clone();
            let Some(tier) = reading.tier else { continue };
            let before = state.tier;
            for notice in state.observe(&def.rule, Observation::At(tier), now, false) {
                // A resolve goes to whoever the last tier paged; anything else by the new tier.
                let about = if notice == Notice::Resolve { before } else { state.tier };
                let notifiers = def.notify.get(about.max(Tier::Warning)).to_vec();
                let summary = reading.summary.clone();
                sent.push(Sent { run: n + 1, key: reading.key.clone(), notice, tier: state.tier, notifiers, summary });
            }
        }
        for (key, (state, _)) in &alerts {
            seen.entry(key.clone()).or_insert_with(|| vec![None; n]).push(Some(state.tier));
        }
    }
    let mut failures = Vec::new();
    for (selector, expected) in &test.expect {
        let matching: Vec<&String> =
            alerts.iter().filter(|(k, (_, l))| selects(selector, k, l)).map(|(k, _)| k).collect();
        let key = match matching.as_slice() {
            [one] => *one,
            [] => {
                failures.push(format!(
                    "no series matches `{selector}` (series: {})",
                    alerts.keys().cloned().collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
            many if selector.is_empty() => {
                failures.push(format!(
                    "`expect` is a list but the monitor has {} series: name one, e.g. `{}`",
                    many.len(),
                    many[0]
                ));
                continue;
            }
            many => {
                failures.push(format!(
                    "`{selector}` matches {} series: {}",
                    many.len(),
                    many.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                ));
                continue;
            }
        };
        let got = &seen[key];
        for (run, (want, have)) in expected.iter().zip(got).enumerate() {
            if want != have {
                let name = |t: &Option<Tier>| t.map_or("-", Tier::as_str);
                failures.push(format!("{key}, run {}: expected {}, got {}", run + 1, name(want), name(have)));
            }
        }
    }
    match &test.notices {
        Some(ExpectedNotices::Count(n)) if *n != sent.len() => failures.push(format!(
            "expected {n} notice(s), got {}: {}",
            sent.len(),
            sent.iter().map(|s| s.notice.as_str()).collect::<Vec<_>>().join(", ")
        )),
        Some(ExpectedNotices::List(list)) => {
            let got: Vec<Notice> = sent.iter().map(|s| s.notice).collect();
            if *list != got {
                let names = |l: &[Notice]| l.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
                failures.push(format!("expected notices [{}], got [{}]", names(list), names(&got)));
            }
        }
        _ => {}
    }
    Outcome { name: test.name.clone(), sent, failures }
}

/// A sample's fields holding `value` where the monitor's `value:` path reads it: `body.v` is
/// `{"body": {"v": value}}`, as an HTTP source's answer carries it.
fn nested_field(path: &str, value: Value) -> Map<String, Value> {
    let mut parts = path.split('.').filter(|p| !p.is_empty());
    let Some(first) = parts.next() else {
        return [(path.to_string(), value)].into_iter().collect();
    };
    let rest: Vec<&str> = parts.collect();
    let inner = rest.iter().rev().fold(value, |acc, key| Value::Object([(key.to_string(), acc)].into_iter().collect()));
    [(first.to_string(), inner)].into_iter().collect()
}
