//! A monitor as an equivalent Conductor workflow (`vigil monitors show NAME --workflow`), so a
//! user can graduate a check to multi-step logic by hand.
//!
//! The workflow asks the same source with its task type (`PROMETHEUS_QUERY`, `HTTP_CHECK`, ...),
//! judges each series in an INLINE script (the monitor's value, thresholds, `noData`, `onError`,
//! dedup key and summary templates, per-tier routes), and observes each series with an ALERT task
//! in a DO_WHILE over the judged items, with the monitor's alert rule. Dedup keys are the
//! monitor's, so an open incident carries over. What a workflow cannot do is listed by
//! [`limits`]: a series missing from an answer is not observed (it does not resolve), since a
//! workflow instance remembers nothing between runs.

use serde_json::{Map, Value, json};

use super::threshold::Threshold;
use super::{Cadence, MissingSeries, MonitorDef, NoData, OnError};
use crate::alert::Tier;

/// Why `def` has no workflow equivalent, if it has none: its source has no task type (a
/// heartbeat waits for pings, a job latency check and an email check judge over runs).
pub fn no_equivalent(def: &MonitorDef) -> Option<String> {
    match def.source.kind.task_type() {
        Some(_) => None,
        None => Some(format!(
            "its source `{}` has no workflow task type: a workflow instance cannot wait for pings, judge latency over runs or watch an inbox",
            def.source.kind
        )),
    }
}

/// The workflow equivalent to `def`; `None` when it has none ([`no_equivalent`]).
pub fn to_workflow(def: &MonitorDef) -> Option<Value> {
    let task_type = def.source.kind.task_type()?;
    let ask_optional = matches!(def.on_error, OnError::Tier(_));
    let mut alert = Map::new();
    alert.insert("name".into(), json!(def.name));
    for (field, path) in [
        ("status", "status"),
        ("severity", "severity"),
        ("dedupKey", "key"),
        ("labels", "labels"),
        ("summary", "summary"),
        ("notifiers", "notifiers"),
    ] {
        alert.insert(field.into(), json!(format!("${{each.output.item.{path}}}")));
    }
    alert.insert("details".into(), json!({"value": "${each.output.item.value}", "monitor": def.name}));
    let rule = &def.rule;
    alert.insert("for".into(), json!(format!("{}s", rule.for_ms / 1000)));
    alert.insert("fireAfter".into(), json!(rule.fire_after));
    alert.insert("resolveAfter".into(), json!(rule.resolve_after));
    alert.insert(
        "repeatInterval".into(),
        rule.repeat_interval_ms.map_or(json!("never"), |ms| json!(format!("{}s", ms / 1000))),
    );
    alert.insert("sendResolved".into(), json!(rule.send_resolved));
    alert.insert("flapThreshold".into(), json!(rule.flap_threshold));
    alert.insert("flapWindow".into(), json!(format!("{}s", rule.flap_window_ms / 1000)));
    Some(json!({
        "name": def.name,
        "description": format!("Monitor `{}` as a workflow (vigil monitors show {} --workflow).", def.name, def.name),
        "version": 1,
        "schemaVersion": 2,
        "tasks": [
            {
                "name": "ask", "taskReferenceName": "ask", "type": task_type,
                "optional": ask_optional, "inputParameters": &*def.source.config,
            },
            {
                "name": "judge", "taskReferenceName": "judge", "type": "INLINE",
                "inputParameters": {"evaluatorType": "javascript", "series": "${ask.output.series}", "expression": script(def)},
            },
            {
                "name": "each", "taskReferenceName": "each", "type": "DO_WHILE",
                "inputParameters": {"items": "${judge.output.result}"},
                "loopCondition": "$.each.iteration < $.items.length",
                "loopOver": [{"name": "observe", "taskReferenceName": "observe", "type": "ALERT", "inputParameters": alert}],
            },
        ],
        "outputParameters": {"series": "${judge.output.result}"},
    }))
}

/// A schedule (Conductor's shape) that starts the workflow as often as the monitor runs; `Err`
/// says why an interval has no cron equivalent.
pub fn schedule(def: &MonitorDef) -> Result<Value, String> {
    let (cron, zone) = match &def.cadence {
        Cadence::Cron { text, zone, .. } => (text.to_string(), zone.iana_name().unwrap_or("UTC").to_string()),
        Cadence::Every { ms, .. } => (every_as_cron(*ms)?, "UTC".to_string()),
    };
    Ok(json!({
        "name": def.name, "cronExpression": cron, "zoneId": zone, "overlapPolicy": "SKIP",
        "startWorkflowRequest": {"name": def.name},
    }))
}

/// `every` as a six-field cron expression, when the interval divides a minute, hour or day.
fn every_as_cron(ms: i64) -> Result<String, String> {
    let s = ms / 1000;
    let fits = |n: i64, whole: i64| n > 0 && n < whole && whole % n == 0;
    if ms % 1000 == 0 && fits(s, 60) {
        return Ok(if s == 1 { "* * * * * *".into() } else { format!("*/{s} * * * * *") });
    }
    if s % 60 == 0 && fits(s / 60, 60) {
        return Ok(format!("0 */{} * * * *", s / 60));
    }
    if s % 3600 == 0 && fits(s / 3600, 24) {
        return Ok(format!("0 0 */{} * * *", s / 3600));
    }
    if s == 86_400 {
        return Ok("0 0 0 * * *".into());
    }
    Err(format!("every {s}s does not divide a minute, an hour or a day: write the schedule's cron by hand"))
}

/// What the workflow does differently from the monitor.
pub fn limits(def: &MonitorDef) -> Vec<String> {
    let mut out = Vec::new();
    if def.missing_series != MissingSeries::Keep {
        out.push(
            "a series missing from an answer is not observed: its alert stays as it was (the monitor resolves it)"
                .to_string(),
        );
    }
    if def.source.kind == crate::source_kind::SourceKind::Http
        && !def.source.config.get("conditions").is_some_and(Value::is_array)
    {
        out.push("no conditions: an HTTP check's own tier is `ok` unless the request fails".to_string());
    }
    if matches!(def.on_error, OnError::Keep) {
        out.push("a source error fails the workflow instance (onError: keep observes nothing either)".to_string());
    }
    out
}

fn tier_js(tier: Option<Tier>) -> String {
    tier.map_or("null".to_string(), |t| format!("'{}'", t.as_str()))
}

fn threshold_js(threshold: Option<Threshold>) -> String {
    let body = match threshold {
        None => return "function (v) { return false; }".into(),
        Some(Threshold::Above(x)) => format!("v > {x}"),
        Some(Threshold::AtLeast(x)) => format!("v >= {x}"),
        Some(Threshold::Below(x)) => format!("v < {x}"),
        Some(Threshold::AtMost(x)) => format!("v <= {x}"),
        Some(Threshold::Equal(x)) => format!("v === {x}"),
        Some(Threshold::NotEqual(x)) => format!("v !== {x}"),
        Some(Threshold::Outside(a, b)) => format!("v < {a} || v > {b}"),
        Some(Threshold::Inside(a, b)) => format!("v >= {a} && v <= {b}"),
    };
    format!("function (v) {{ return {body}; }}")
}

/// A template with `${...}` written `#{...}`, so the workflow does not resolve it as a reference.
fn template_js(template: &str) -> String {
    serde_json::to_string(&template.replace("${", "#{")).expect("a string")
}

fn script(def: &MonitorDef) -> String {
    let route = |tier: Tier| serde_json::to_string(def.notify.get(tier)).expect("json");
    let no_data = match def.no_data {
        NoData::Keep => None,
        NoData::Tier(t) => Some(t),
    };
    let on_error = match def.on_error {
        OnError::Keep => None,
        OnError::Tier(t) => Some(t),
    };
    let judged = def.warning.is_some() || def.critical.is_some();
    format!(
        r#"(function () {{
  var NAME = {name}, LABELS = {labels}, VALUE = {value}, JUDGED = {judged};
  var WARNING = {warning}, CRITICAL = {critical};
  var NO_DATA = {no_data}, ON_ERROR = {on_error}, DEDUP = {dedup}, SUMMARY = {summary};
  var ROUTE_WARNING = {route_warning}, ROUTE_CRITICAL = {route_critical};
  function num(v) {{
    if (typeof v === 'number') return isFinite(v) ? v : null;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'string' && v.trim() !== '' && isFinite(Number(v))) return Number(v);
    return null;
  }}
  function path(at, p) {{
    var parts = p.split('.');
    for (var i = 0; i < parts.length; i++) {{
      var m = /^([^\[]*)((\[\d+\])*)$/.exec(parts[i]);
      if (!m) return null;
      if (m[1] !== '') {{ if (at === null || typeof at !== 'object') return null; at = at[m[1]]; }}
      var idx = m[2].match(/\d+/g) || [];
      for (var j = 0; j < idx.length; j++) {{ if (!Array.isArray(at)) return null; at = at[Number(idx[j])]; }}
      if (at === undefined) return null;
    }}
    return at;
  }}
  function pick(fields) {{
    if (VALUE === null) {{
      var keys = Object.keys(fields).filter(function (k) {{ return num(fields[k]) !== null; }});
      return keys.length === 1 ? num(fields[keys[0]]) : null;
    }}
    if (Object.prototype.hasOwnProperty.call(fields, VALUE)) return num(fields[VALUE]);
    return num(path(fields, VALUE));
  }}
  function render(t, labels, value, tier, note) {{
    return t.replace(/#\{{([^}}]*)\}}/g, function (whole, r) {{
      if (r === 'value') return value === null ? 'no value' : String(value);
      if (r === 'tier') return tier;
      if (r === 'monitor') return NAME;
      if (r === 'error') return note || '';
      if (r.indexOf('labels.') === 0) {{ var l = labels[r.slice(7)]; return l === undefined ? '' : l; }}
      return whole;
    }});
  }}
  function key(own) {{
    var ks = Object.keys(own).sort();
    if (ks.length === 0) return 'monitor/' + NAME;
    return 'monitor/' + NAME + '{{' + ks.map(function (k) {{ return k + '=' + own[k]; }}).join(',') + '}}';
  }}
  function item(own, value, tier, note) {{
    var labels = {{}};
    Object.keys(LABELS).forEach(function (k) {{ labels[k] = LABELS[k]; }});
    Object.keys(own).forEach(function (k) {{ labels[k] = own[k]; }});
    return {{
      key: DEDUP === null ? key(own) : render(DEDUP, labels, value, tier, note),
      labels: labels, value: value, tier: tier,
      status: tier === 'ok' ? 'resolved' : 'firing',
      severity: tier === 'critical' ? 'critical' : 'warning',
      summary: render(SUMMARY, labels, value, tier, note),
      notifiers: tier === 'critical' ? ROUTE_CRITICAL : ROUTE_WARNING
    }};
  }}
  var series = $.series, out = [];
  if (series === null || series === undefined) return ON_ERROR === null ? [] : [item({{}}, null, ON_ERROR, 'source error')];
  if (series.length === 0) return NO_DATA === null ? [] : [item({{}}, null, NO_DATA, 'no data')];
  series.forEach(function (s) {{
    var value = pick(s.fields || {{}}), tier;
    if (!JUDGED) tier = s.tier || 'ok';
    else if (value === null) tier = NO_DATA;
    else tier = CRITICAL(value) ? 'critical' : (WARNING(value) ? 'warning' : 'ok');
    if (tier !== null) out.push(item(s.labels || {{}}, value, tier, s.note || (value === null ? 'no data' : null)));
  }});
  return out;
}})()"#,
        name = serde_json::to_string(&def.name).expect("json"),
        labels = serde_json::to_string(&def.labels).expect("json"),
        value = serde_json::to_string(&def.value).expect("json"),
        judged = judged,
        warning = threshold_js(def.warning),
        critical = threshold_js(def.critical),
        no_data = tier_js(no_data),
        on_error = tier_js(on_error),
        dedup = def.dedup_key.as_deref().map_or("null".to_string(), template_js),
        summary = template_js(&def.summary),
        route_warning = route(Tier::Warning),
        route_critical = route(Tier::Critical),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::monitor::evaluate::{Answer, Memory, Sample, evaluate};
    use crate::script::{ScriptEngine, ScriptLimits};

    fn monitor(doc: Value) -> MonitorDef {
        let (def, problems) = MonitorDef::build(&doc);
        def.unwrap_or_else(|| panic!("{problems:?}"))
    }

    /// Only a source with a task type has a workflow equivalent; an email check used to be
    /// exported as an SQL_QUERY task (a wildcard mapped every unknown source to SQL).
    #[test]
    fn a_source_without_a_task_type_has_no_workflow_equivalent() {
        let email = monitor(json!({"name": "report", "cron": "0 0 9 * * *", "source": {"email":
            {"host": "imap.example.com", "username": "u", "password": "p", "subject": "Daily report", "by": "09:00"}}}));
        assert!(no_equivalent(&email).is_some_and(|why| why.contains("`email`")));
        assert_eq!(to_workflow(&email), None);
        let beat = monitor(json!({"name": "backup", "every": "1d", "heartbeat": {"grace": "1h"}}));
        assert!(no_equivalent(&beat).is_some());
        let prom = monitor(json!({"name": "disk", "every": "1m", "warning": "> 80",
            "source": {"prometheus": {"url": "http://prom:9090", "query": "disk_used"}}}));
        assert_eq!(no_equivalent(&prom), None);
        assert_eq!(to_workflow(&prom).unwrap()["tasks"][0]["type"], json!("PROMETHEUS_QUERY"));
    }

    fn sample(labels: &[(&str, &str)], fields: Value) -> Sample {
        Sample {
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            fields: fields.as_object().unwrap().clone(),
            ..Sample::default()
        }
    }

    /// The judge script, run on a query task's output for `answer`.
    fn judged(def: &MonitorDef, answer: &Answer) -> Vec<Value> {
        let workflow = to_workflow(def).unwrap();
        let script = workflow["tasks"][1]["inputParameters"]["expression"].as_str().unwrap();
        assert!(!script.contains("${"), "the script must not look like a workflow reference");
        let series = match answer {
            Answer::Samples(s) => {
                json!(
                    s.iter()
                        .map(|s| json!({"labels": s.labels, "fields": s.fields, "tier": s.tier, "note": s.note}))
                        .collect::<Vec<_>>()
                )
            }
            Answer::Failed(_) => Value::Null,
        };
        let out = ScriptEngine::new(ScriptLimits::default()).eval(script, &json!({"series": series})).unwrap();
        out.as_array().unwrap().clone()
    }

    /// The workflow's judge agrees with the monitor's own evaluation on keys, tiers, summaries and
    /// routes, and the workflow itself is valid.
    #[test]
    fn the_workflow_judges_series_as_the_monitor_does() {
        let def = monitor(json!({
            "name": "disk", "every": "30s", "labels": {"team": "infra"},
            "source": {"prometheus": {"url": "http://prom:9090", "query": "disk_used"}},
            "value": "used", "warning": "> 80", "critical": ">= 95", "noData": "critical",
            "notify": {"warning": ["chat"], "critical": ["oncall", "chat"]},
            "summary": "disk ${labels.host} at ${value}% (${tier}, ${monitor})", "repeatInterval": "never",
        }));
        let (built, problems) = crate::def::build::build_workflow(&to_workflow(&def).unwrap());
        assert!(built.is_some(), "{problems:?}");
        let answer = Answer::Samples(vec![
            sample(&[("host", "a")], json!({"used": 50})),
            sample(&[("host", "b")], json!({"used": "85.5"})),
            sample(&[("host", "c")], json!({"used": 95})),
            sample(&[("host", "d")], json!({"other": 1})),
        ]);
        let readings = evaluate(&def, &mut Memory::default(), &answer);
        let items = judged(&def, &answer);
        assert_eq!(items.len(), readings.len());
        for (item, reading) in items.iter().zip(&readings) {
            assert_eq!(item["key"], json!(reading.key));
            assert_eq!(item["tier"], json!(reading.tier.unwrap().as_str()));
            assert_eq!(item["summary"], json!(reading.summary));
            assert_eq!(item["labels"], json!(reading.labels));
        }
        assert_eq!(items[2]["notifiers"], json!(["oncall", "chat"]));
        assert_eq!((items[0]["status"].clone(), items[1]["severity"].clone()), (json!("resolved"), json!("warning")));
        let alert = &to_workflow(&def).unwrap()["tasks"][2]["loopOver"][0]["inputParameters"];
        assert_eq!(alert["repeatInterval"], json!("never"));
        assert_eq!(schedule(&def).unwrap()["cronExpression"], json!("*/30 * * * * *"));

        let empty = Answer::Samples(vec![]);
        assert_eq!(judged(&def, &empty)[0]["tier"], json!("critical"), "noData: critical");
        assert_eq!(judged(&def, &Answer::Failed("down".into())), Vec::<Value>::new(), "onError: keep");
    }

    #[test]
    fn http_checks_keep_their_own_tier_and_custom_keys_render() {
        let def = monitor(json!({
            "name": "api", "every": "1m", "dedupKey": "api-${labels.region}", "onError": "critical",
            "source": {"http": {"url": "http://api/health", "conditions": ["[STATUS] == 200"]}},
            "notify": ["pager"],
        }));
        let mut down = sample(&[], json!({"status": 503}));
        down.tier = Some(Tier::Critical);
        let answer = Answer::Samples(vec![down]);
        let readings = evaluate(&def, &mut Memory::default(), &answer);
        let items = judged(&def, &answer);
        assert_eq!((items[0]["key"].clone(), items[0]["tier"].clone()), (json!(readings[0].key), json!("critical")));
        assert_eq!(to_workflow(&def).unwrap()["tasks"][0]["type"], json!("HTTP_CHECK"));
        assert_eq!(to_workflow(&def).unwrap()["tasks"][0]["optional"], json!(true));
        assert_eq!(judged(&def, &Answer::Failed("refused".into()))[0]["tier"], json!("critical"), "onError: critical");
        assert_eq!(schedule(&def).unwrap()["cronExpression"], json!("0 */1 * * * *"));
        let hourly = monitor(json!({"name": "h", "every": "1h", "source": {"http": {"url": "http://x"}}}));
        assert_eq!(schedule(&hourly).unwrap()["cronExpression"], json!("0 0 */1 * * *"));
        let odd = monitor(json!({"name": "odd", "every": "7m", "source": {"http": {"url": "http://x"}}}));
        assert!(schedule(&odd).unwrap_err().contains("every 420s"));
    }
}
