//! Alertmanager's acceptance tests, restated as data (`tests/alertmanager/acceptance/*.yaml`),
//! run on a manual clock against vigil's reading of Alertmanager, and checked as Alertmanager's
//! collector checks them: every wanted batch arrives within its window, and the total number of
//! alerts received equals the number wanted.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use vigil_core::alert::Silence;
use vigil_core::alertmanager::dispatch::Dispatcher;
use vigil_core::alertmanager::{Alert, MatchType, Matcher, config, read_posted};

/// Second 0 of a scenario without `base`.
const T0: i64 = 1_700_000_000_000;

fn ms(base: i64, seconds: &Value) -> i64 {
    base + (seconds.as_f64().expect("seconds") * 1000.0).round() as i64
}

fn iso(at: i64) -> String {
    jiff::Timestamp::from_millisecond(at).unwrap().to_string()
}

/// One received batch: when, and its alerts as (labels, annotations, startsAt, endsAt if resolved).
type Batch = (i64, Vec<Seen>);

/// An alert as a webhook sees it: labels, annotations, startsAt, endsAt once resolved.
type Seen = (BTreeMap<String, String>, BTreeMap<String, String>, i64, Option<i64>);

fn strings(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
        .unwrap_or_default()
}

/// Runs one scenario; returns the collector's report and whether every check held.
fn run(case: &Value) -> (String, bool) {
    let base =
        case.get("base").and_then(Value::as_str).map_or(T0, |b| b.parse::<jiff::Timestamp>().unwrap().as_millisecond());
    let conf = config::parse(case["config"].as_str().unwrap()).unwrap_or_else(|p| panic!("{p:#?}"));
    let resolve_timeout = conf.resolve_timeout;
    let mut dispatcher = Dispatcher::new(conf);
    let mut steps: Vec<&Value> = case["steps"].as_array().unwrap().iter().collect();
    steps.sort_by_key(|s| ms(base, &s["at"]));
    let want = case["want"].as_object().unwrap();
    let end = want
        .values()
        .flat_map(|w| w.as_array().unwrap())
        .map(|w| ms(base, &w["between"][1]))
        .max()
        .unwrap_or(base + 5_000);
    let mut received: BTreeMap<String, Vec<Batch>> = BTreeMap::new();
    let mut silences: BTreeMap<String, usize> = BTreeMap::new();
    let mut next_step = 0;
    loop {
        let step_at = steps.get(next_step).map(|s| ms(base, &s["at"]));
        let now = match (step_at, dispatcher.next_wake()) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => break,
            },
        };
        if now > end {
            break;
        }
        while let Some(step) = steps.get(next_step).filter(|s| ms(base, &s["at"]) == now) {
            next_step += 1;
            apply(step, base, now, resolve_timeout, &mut dispatcher, &mut silences);
        }
        for n in dispatcher.tick(now) {
            let url = n.integration.config["url"].as_str().unwrap();
            let collector = url.trim_start_matches("http://").trim_end_matches('/').to_string();
            let alerts = n
                .alerts
                .iter()
                .map(|a| {
                    (a.labels.clone(), a.annotations.clone(), a.starts_at, a.resolved_at(now).then_some(a.ends_at))
                })
                .collect();
            received.entry(collector).or_default().push((now, alerts));
        }
    }
    check(want, &received, base, case.get("tolerance").and_then(Value::as_f64).unwrap_or(0.15))
}

fn apply(
    step: &Value,
    base: i64,
    now: i64,
    resolve_timeout: i64,
    d: &mut Dispatcher,
    silences: &mut BTreeMap<String, usize>,
) {
    if let Some(alerts) = step.get("push").and_then(Value::as_array) {
        let body: Vec<Value> = alerts
            .iter()
            .map(|a| {
                let mut posted =
                    json!({"labels": a["labels"], "annotations": a.get("annotations").cloned().unwrap_or(json!({}))});
                if let Some(active) = a.get("active").and_then(Value::as_array) {
                    posted["startsAt"] = json!(iso(ms(base, &active[0])));
                    if let Some(e) = active.get(1) {
                        posted["endsAt"] = json!(iso(ms(base, e)));
                    }
                }
                posted
            })
            .collect();
        let (alerts, errors): (Vec<Alert>, Vec<String>) =
            read_posted(&Value::Array(body), now, resolve_timeout).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        d.push(alerts, now);
    }
    if let Some(s) = step.get("silence") {
        let mut typed = Vec::new();
        for (key, kind) in [("match", MatchType::Equal), ("matchRE", MatchType::Regexp)] {
            for (name, value) in strings(s.get(key)) {
                typed.push(Matcher::new(kind, &name, &value).unwrap());
            }
        }
        let active = s["active"].as_array().unwrap();
        let mut silence = Silence::new(BTreeMap::new(), ms(base, &active[1]));
        silence.starts_at = ms(base, &active[0]);
        silence.typed = typed;
        silences.insert(s["id"].as_str().unwrap().to_string(), d.silence(silence));
    }
    if let Some(id) = step.get("deleteSilence").and_then(Value::as_str) {
        d.expire_silence(silences[id], now);
    }
}

fn check(
    want: &serde_json::Map<String, Value>,
    received: &BTreeMap<String, Vec<Batch>>,
    base: i64,
    tolerance: f64,
) -> (String, bool) {
    let tol = (tolerance * 1000.0).round() as i64;
    let mut report = String::new();
    let mut ok = true;
    let near = |a: i64, b: i64| (a - b).abs() <= tol;
    for (collector, wanted) in want {
        let got = received.get(collector).cloned().unwrap_or_default();
        let mut wanted_total = 0;
        for w in wanted.as_array().unwrap() {
            let (from, to) = (ms(base, &w["between"][0]), ms(base, &w["between"][1]));
            let expected: Vec<Seen> = w["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let active = a["active"].as_array().unwrap();
                    (
                        strings(a.get("labels")),
                        strings(a.get("annotations")),
                        ms(base, &active[0]),
                        active.get(1).map(|e| ms(base, e)),
                    )
                })
                .collect();
            wanted_total += expected.len();
            let in_window: Vec<&Batch> = got.iter().filter(|(at, _)| (from..=to).contains(at)).collect();
            let found = (expected.is_empty() && in_window.is_empty())
                || in_window.iter().any(|(_, batch)| {
                    batch.len() == expected.len()
                        && expected.iter().all(|e| {
                            batch.iter().any(|b| {
                                b.0 == e.0
                                    && b.1 == e.1
                                    && near(b.2, e.2)
                                    && match (b.3, e.3) {
                                        (None, None) => true,
                                        (Some(x), Some(y)) => near(x, y),
                                        _ => false,
                                    }
                            })
                        })
                });
            ok &= found;
            report.push_str(&format!(
                "  {collector} {:?} {} alerts: {}\n",
                w["between"],
                expected.len(),
                if found { "✓" } else { "✗" }
            ));
        }
        let got_total: usize = got.iter().map(|(_, b)| b.len()).sum();
        if got_total != wanted_total {
            ok = false;
            report.push_str(&format!("  {collector}: expected a total of {wanted_total} alerts, got {got_total}\n"));
        }
        if !ok {
            for (at, batch) in &got {
                let seconds = (*at - base) as f64 / 1000.0;
                let shown: Vec<String> = batch
                    .iter()
                    .map(|(l, a, s, e)| {
                        format!(
                            "{l:?} {a:?} [{}, {:?}]",
                            (*s - base) as f64 / 1000.0,
                            e.map(|e| (e - base) as f64 / 1000.0)
                        )
                    })
                    .collect();
                report.push_str(&format!("    received @ {seconds}: {shown:?}\n"));
            }
        }
    }
    (report, ok)
}

#[test]
fn alertmanagers_acceptance_scenarios_hold() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alertmanager/acceptance");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut ran, mut skipped, mut failed) = (0, 0, Vec::new());
    for file in files {
        let cases: Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for case in cases.as_array().unwrap() {
            let name = format!("{}: {}", file.file_name().unwrap().to_string_lossy(), case["test"].as_str().unwrap());
            if let Some(reason) = case.get("skip") {
                println!("skipped {name}: {}", reason.as_str().unwrap());
                skipped += 1;
                continue;
            }
            let (report, ok) = run(case);
            println!("{} {name}\n{report}", if ok { "passed" } else { "FAILED" });
            ran += 1;
            if !ok {
                failed.push(name);
            }
        }
    }
    println!("{ran} scenarios run, {skipped} skipped (vigil differs on purpose), {} failed", failed.len());
    assert!(ran >= 14, "{ran} scenarios");
    assert!(failed.is_empty(), "failed: {failed:?}");
}
