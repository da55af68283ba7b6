//! `vigil import prometheus-rules RULES --url PROMETHEUS --out DIR`: Prometheus' alerting rules as
//! monitors on the Prometheus source, so vigil evaluates them instead of Prometheus.
//!
//! Each alerting rule (`alert`, `expr`, `for`, `keep_firing_for`, `labels`, `annotations`)
//! becomes a monitor of that name (one JSON file per group) that queries `expr` every group `interval` (Prometheus' default
//! 1m): every series the expression returns fires (`firing:`, critical for a `severity` of
//! critical/page/high, else a warning), a series gone resolves, `for` carries over,
//! `keep_firing_for` becomes `resolveAfter` (the checks it spans), and the rule's labels label the
//! monitor. The `summary` (or `description`) annotation becomes the summary, its `{{ $labels.X }}`
//! and `{{ $value }}` as `${labels.X}` and `${value}`. The monitors name no notifier: an
//! `alertmanager.yml` in the directory routes them, as Prometheus' alerts were. Recording rules
//! are left to Prometheus (a note says so).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use super::Imported;

/// `vigil import prometheus-rules`.
#[derive(clap::Args)]
pub struct Args {
    /// A Prometheus rule file (`groups:` of `rules:`).
    pub rules: PathBuf,
    /// The Prometheus server the monitors query.
    #[arg(long)]
    pub url: String,
    /// The config directory to write (`monitors/`).
    #[arg(long)]
    pub out: PathBuf,
}

/// The monitors `text`'s alerting rules make, one file per group.
pub fn import(text: &str, url: &str) -> Result<Imported> {
    let doc: Value = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("not YAML: {e}"))?;
    let Some(groups) = doc.get("groups").and_then(Value::as_array) else { bail!("a rule file has `groups:`") };
    let mut out = Imported::default();
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (g, group) in groups.iter().enumerate() {
        let group_name = group.get("name").and_then(Value::as_str).unwrap_or("rules");
        let every = group.get("interval").and_then(Value::as_str).unwrap_or("1m");
        let mut monitors = Vec::new();
        for (r, rule) in group.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
            let at = format!("groups[{g}].rules[{r}]");
            if let Some(record) = rule.get("record").and_then(Value::as_str) {
                out.notes.push(format!("{at}: recording rule `{record}` is left to Prometheus"));
                continue;
            }
            let Some(alert) = rule.get("alert").and_then(Value::as_str) else {
                bail!("{at}: neither `alert` nor `record`")
            };
            let Some(expr) = rule.get("expr").map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string)) else {
                bail!("{at}: `expr` is missing")
            };
            // Two rules of one name (a warning and a critical variant) become two monitors.
            let seen = names.entry(super::file_name(alert)).or_default();
            *seen += 1;
            let name = if *seen == 1 { super::file_name(alert) } else { format!("{}-{seen}", super::file_name(alert)) };
            monitors.push(monitor(&name, rule, &expr, url, every, &at, &mut out.notes)?);
        }
        if !monitors.is_empty() {
            let file = format!("monitors/{}.json", super::file_name(group_name));
            out.files.insert(file, serde_json::to_string_pretty(&Value::Array(monitors))? + "\n");
        }
    }
    if out.files.is_empty() {
        bail!("no alerting rules");
    }
    Ok(out)
}

fn monitor(
    name: &str,
    rule: &Value,
    expr: &str,
    url: &str,
    every: &str,
    at: &str,
    notes: &mut Vec<String>,
) -> Result<Value> {
    let labels: BTreeMap<String, String> = rule
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect();
    let firing = match labels.get("severity").map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("critical" | "page" | "high" | "p1" | "emergency") => "critical",
        _ => "warning",
    };
    let annotations = rule.get("annotations").and_then(Value::as_object);
    let text = ["summary", "description", "message"]
        .iter()
        .find_map(|k| annotations.and_then(|a| a.get(*k)).and_then(Value::as_str))
        .map(|t| template(t, at, notes));
    let mut m = json!({
        "name": name,
        "every": every,
        "source": {"prometheus": {"url": url, "query": expr, "firing": firing}},
        "noData": "ok",
        "missingSeries": "resolve",
    });
    if !labels.is_empty() {
        m["labels"] = json!(labels);
    }
    if let Some(f) = rule.get("for").and_then(Value::as_str) {
        m["for"] = json!(f);
    }
    if let Some(keep) = rule.get("keep_firing_for").and_then(Value::as_str) {
        let (keep_ms, every_ms) = (vigil_core::time::parse_duration(keep), vigil_core::time::parse_duration(every));
        match (keep_ms, every_ms) {
            (Ok(k), Ok(e)) if e > 0 => m["resolveAfter"] = json!((k + e - 1) / e + 1),
            _ => notes.push(format!("{at}: keep_firing_for `{keep}` not carried over")),
        }
    }
    if let Some(text) = text {
        m["summary"] = json!(text);
    }
    for key in rule.as_object().into_iter().flatten().map(|(k, _)| k.as_str()) {
        if !["alert", "expr", "for", "keep_firing_for", "labels", "annotations"].contains(&key) {
            notes.push(format!("{at}: `{key}` is not carried over"));
        }
    }
    Ok(m)
}

/// A Go template's `{{ $labels.X }}`, `{{ .Labels.X }}` and `{{ $value }}` as vigil's references;
/// anything else is kept as written, with a note.
fn template(text: &str, at: &str, notes: &mut Vec<String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else { break };
        let inner = rest[open + 2..open + close].trim().trim_start_matches('-').trim_end_matches('-').trim();
        let replaced = if inner == "$value" || inner == ".Value" {
            Some("${value}".to_string())
        } else {
            inner
                .strip_prefix("$labels.")
                .or_else(|| inner.strip_prefix(".Labels."))
                .map(|l| format!("${{labels.{l}}}"))
        };
        match replaced {
            Some(r) => out.push_str(&r),
            None => {
                notes.push(format!("{at}: the template `{{{{ {inner} }}}}` is kept as written"));
                out.push_str(&rest[open..open + close + 2]);
            }
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
groups:
- name: node
  interval: 30s
  rules:
  - record: job:up:sum
    expr: sum(up) by (job)
  - alert: InstanceDown
    expr: up == 0
    for: 5m
    keep_firing_for: 2m
    labels: {severity: page, team: infra}
    annotations:
      summary: "{{ $labels.instance }} of {{ $labels.job }} is down ({{ $value }})"
      description: "{{ humanize $value }} for long"
  - alert: DiskFilling
    expr: predict_linear(node_filesystem_free_bytes[1h], 4 * 3600) < 0
    labels: {severity: warning}
"#;

    #[test]
    fn alerting_rules_become_prometheus_monitors() {
        let imported = import(RULES, "http://prometheus:9090").unwrap();
        let text = &imported.files["monitors/node.json"];
        let monitors: Value = serde_saphyr::from_str(text).unwrap();
        let down = &monitors[0];
        assert_eq!(down["name"], "InstanceDown");
        assert_eq!(down["every"], "30s");
        assert_eq!(down["for"], "5m");
        assert_eq!(down["resolveAfter"], 5, "2 minutes of 30 s checks, and the one that passes");
        assert_eq!(
            down["source"]["prometheus"],
            json!({"url": "http://prometheus:9090", "query": "up == 0", "firing": "critical"})
        );
        assert_eq!(down["summary"], "${labels.instance} of ${labels.job} is down (${value})");
        assert_eq!(down["labels"], json!({"severity": "page", "team": "infra"}));
        assert_eq!(monitors[1]["source"]["prometheus"]["firing"], "warning");
        assert!(
            imported.notes.iter().any(|n| n.contains("recording rule `job:up:sum` is left to Prometheus")),
            "{:?}",
            imported.notes
        );
        let (monitors, problems): (Vec<_>, Vec<_>) =
            monitors.as_array().unwrap().iter().map(vigil_core::monitor::MonitorDef::build).unzip();
        assert!(monitors.iter().all(Option::is_some), "{problems:?}");
        assert!(import("groups: []", "http://p").is_err(), "nothing to import");
    }
}
