//! What an ALERT task asks for: its inputs, checked, plus the observation it reports.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AlertRule, Observation};
use crate::time::{Millis, parse_duration};

/// One observation for one alert, as an ALERT task reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRequest {
    /// The dedup key: given, or `<workflow>/<name>` plus the sorted labels.
    pub dedup_key: String,
    /// Alert name.
    pub name: String,
    /// `true` when the problem is there.
    pub failing: bool,
    /// `critical`, `error`, `warning` or `info`.
    pub severity: String,
    /// One line.
    pub summary: String,
    /// Structured details.
    pub details: Value,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Notifier names to route to.
    pub notifiers: Vec<String>,
    /// Links `{href, text}`.
    pub links: Vec<Value>,
    /// How observations become notifications.
    pub rule: AlertRule,
    /// The workflow that observed it.
    pub source: String,
    /// Identifies this observation (instance and task reference), so a repeat after a restart is
    /// recognised and not counted twice.
    pub observation_id: String,
    /// The time the observation is about: the schedule slot of the instance that made it (or
    /// the instance's creation time). Observations are applied newest-wins by this time.
    #[serde(default)]
    pub observed_at: Millis,
    /// When a failing observation stops holding unless another comes (a pushed Alertmanager
    /// alert's `endsAt`): the alert then resolves by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Millis>,
    /// For an alert routed by an Alertmanager routing tree: the groups it joins, which tell the
    /// receivers instead of `notifiers`. Carried to the alert manager, not stored with the key.
    /// Pushed alerts now go to their groups directly (`AlertMsg::Routed`); this is read from
    /// inbox messages an earlier version wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed: Option<Box<crate::alertmanager::group::Routed>>,
    /// The monitors this alert's monitor sits behind, directly or not (`dependsOn`): while one of
    /// them fires, this alert's notifications are held.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The teams whose alerts this observation may change when its key names an existing alert
    /// of another source ([`super::scope`]); `None`: any (a monitor, a trusted shared workflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Vec<String>>,
}

impl AlertRequest {
    /// The observation: when failing, at the tier of its `severity`.
    pub fn observation(&self) -> Observation {
        if self.failing { Observation::At(super::Tier::of_severity(&self.severity)) } else { Observation::Passing }
    }

    /// Reads an ALERT task's resolved inputs. `workflow` names the source; `observation_id` is
    /// stable across retries of the task.
    pub fn from_input(
        input: &Map<String, Value>,
        task_name: &str,
        workflow: &str,
        observation_id: String,
    ) -> Result<Self, String> {
        let name = text(input, "name").unwrap_or_else(|| task_name.to_string());
        let failing = match input.get("status") {
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "firing" | "failing" | "fail" | "alert" | "true" => true,
                "resolved" | "ok" | "passing" | "pass" | "false" => false,
                other => return Err(format!("`status` must be `firing` or `resolved`, got `{other}`")),
            },
            Some(Value::Bool(b)) => *b,
            // A count of problems (hits, failed checks): non-zero means firing.
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::Null) | None => return Err("an ALERT task needs `status` (`firing` or `resolved`)".into()),
            Some(other) => return Err(format!("`status` must be `firing` or `resolved`, got {other}")),
        };
        let severity = text(input, "severity").unwrap_or_else(|| "error".into()).to_ascii_lowercase();
        if !["critical", "error", "warning", "info"].contains(&severity.as_str()) {
            return Err(format!("`severity` must be critical, error, warning or info, got `{severity}`"));
        }
        let labels: BTreeMap<String, String> = match input.get("labels") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            Some(Value::Null) | None => BTreeMap::new(),
            Some(_) => return Err("`labels` must be an object of strings".into()),
        };
        let notifiers = match input.get("notifiers") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or("`notifiers` must be a list of names"))
                .collect::<Result<Vec<_>, _>>()?,
            Some(Value::String(one)) => vec![one.clone()],
            _ => return Err("an ALERT task needs `notifiers`, a list of notifier names".into()),
        };
        let dedup_key = match text(input, "dedupKey") {
            Some(k) if !k.trim().is_empty() => k,
            _ => default_key(workflow, &name, &labels),
        };
        let rule = rule_from(input)?;
        Ok(Self {
            dedup_key,
            summary: text(input, "summary").unwrap_or_else(|| name.clone()),
            name,
            failing,
            severity,
            details: input.get("details").cloned().unwrap_or(Value::Null),
            labels,
            notifiers,
            links: input.get("links").and_then(Value::as_array).cloned().unwrap_or_default(),
            rule,
            source: workflow.to_string(),
            observation_id,
            observed_at: 0,
            expires_at: None,
            routed: None,
            depends_on: Vec::new(),
            within: None,
        })
    }
}

fn text(input: &Map<String, Value>, key: &str) -> Option<String> {
    match input.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// `<workflow>/<name>` with `{k=v,...}` for labels: the same alert from the same workflow maps to
/// the same key on every node and after every restart.
pub fn default_key(workflow: &str, name: &str, labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return format!("{workflow}/{name}");
    }
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{workflow}/{name}{{{}}}", pairs.join(","))
}

fn duration_ms(input: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.as_i64().unwrap_or(0) * 1000)),
        Some(Value::String(s)) => parse_duration(s).map(Some).map_err(|e| format!("`{key}`: {e}")),
        Some(other) => Err(format!("`{key}` must be a duration like `5m`, got {other}")),
    }
}

fn count(input: &Map<String, Value>, key: &str, default: u32) -> Result<u32, String> {
    count_from(input, key, default, 1)
}

fn count_from(input: &Map<String, Value>, key: &str, default: u32, least: u64) -> Result<u32, String> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= least && *n <= u64::from(u32::MAX))
            .map(|n| n as u32)
            .ok_or_else(|| format!("`{key}` must be a whole number of at least {least}")),
    }
}

/// The rule settings of an ALERT task's inputs.
const RULE_FIELDS: [&str; 7] =
    ["for", "fireAfter", "resolveAfter", "repeatInterval", "sendResolved", "flapThreshold", "flapWindow"];

/// Problems with the rule settings an ALERT task writes literally, found when the definition
/// loads (a setting with a `${}` reference is checked when the task runs).
pub fn rule_problems(input: &Map<String, Value>) -> Vec<(&'static str, String)> {
    RULE_FIELDS
        .into_iter()
        .filter_map(|field| {
            let value = input.get(field)?;
            if value.as_str().is_some_and(|s| s.contains("${")) {
                return None;
            }
            let single: Map<String, Value> = [(field.to_string(), value.clone())].into_iter().collect();
            rule_from(&single).err().map(|e| (field, e))
        })
        .collect()
}

/// Reads the rule fields (`for`, `fireAfter`, `resolveAfter`, `repeatInterval`, `sendResolved`,
/// `flapThreshold`, `flapWindow`) of an ALERT task's inputs or a monitor.
pub fn rule_from(input: &Map<String, Value>) -> Result<AlertRule, String> {
    let defaults = AlertRule::default();
    let repeat = match input.get("repeatInterval") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("never") => None,
        None | Some(Value::Null) => defaults.repeat_interval_ms,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f <= 0.0) => None,
        _ => match duration_ms(input, "repeatInterval")? {
            Some(ms) if ms <= 0 => None,
            Some(ms) if ms < 1_000 => return Err("`repeatInterval` must be at least 1s, or `never`".into()),
            other => other,
        },
    };
    Ok(AlertRule {
        for_ms: duration_ms(input, "for")?.unwrap_or(0),
        fire_after: count(input, "fireAfter", 1)?,
        resolve_after: count(input, "resolveAfter", 1)?,
        repeat_interval_ms: repeat,
        send_resolved: match input.get("sendResolved") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(format!("`sendResolved` must be true or false, got {other}")),
        },
        // 0 turns flap detection off.
        flap_threshold: count_from(input, "flapThreshold", defaults.flap_threshold, 0)?,
        flap_window_ms: duration_ms(input, "flapWindow")?.unwrap_or(defaults.flap_window_ms),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(v: Value) -> Result<AlertRequest, String> {
        AlertRequest::from_input(v.as_object().unwrap(), "page", "failure_alert", "wf1/page".into())
    }

    #[test]
    fn defaults_and_derived_key() {
        let r = read(json!({"status": "firing", "notifiers": ["oncall"], "labels": {"team": "db", "env": "prod"}}))
            .unwrap();
        assert_eq!(r.dedup_key, "failure_alert/page{env=prod,team=db}");
        assert_eq!((r.name.as_str(), r.severity.as_str(), r.failing), ("page", "error", true));
        assert_eq!(r.rule, AlertRule::default());
    }

    #[test]
    fn rule_fields_are_read() {
        let r = read(json!({"status": "resolved", "notifiers": "chat", "dedupKey": "k", "for": "5m", "fireAfter": 3, "resolveAfter": 2, "repeatInterval": "never", "sendResolved": false})).unwrap();
        assert_eq!(r.dedup_key, "k");
        assert_eq!(r.notifiers, ["chat"]);
        assert_eq!(r.rule.for_ms, 300_000);
        assert_eq!(
            (r.rule.fire_after, r.rule.resolve_after, r.rule.repeat_interval_ms, r.rule.send_resolved),
            (3, 2, None, false)
        );
        assert!(!r.failing);
    }

    #[test]
    fn bad_inputs_are_named() {
        assert!(read(json!({"notifiers": ["x"]})).unwrap_err().contains("`status`"));
        assert!(read(json!({"status": "maybe", "notifiers": ["x"]})).unwrap_err().contains("maybe"));
        assert!(
            read(json!({"status": 3, "notifiers": ["x"]})).unwrap().failing,
            "a count of problems fires when non-zero"
        );
        assert!(!read(json!({"status": 0, "notifiers": ["x"]})).unwrap().failing);
        assert!(read(json!({"status": true})).unwrap_err().contains("notifiers"));
        assert!(read(json!({"status": true, "notifiers": ["x"], "severity": "sev1"})).unwrap_err().contains("sev1"));
        assert!(read(json!({"status": true, "notifiers": ["x"], "for": "5 parsecs"})).unwrap_err().contains("for"));
        assert!(
            read(json!({"status": true, "notifiers": ["x"], "repeatInterval": "500ms"}))
                .unwrap_err()
                .contains("at least 1s")
        );
    }

    #[test]
    fn zero_or_negative_repeat_means_no_reminders_not_a_storm() {
        for v in [json!("0"), json!("0s"), json!(0), json!(-5), json!(0.5), json!("never")] {
            let r = read(json!({"status": true, "notifiers": ["x"], "repeatInterval": v})).unwrap();
            assert_eq!(r.rule.repeat_interval_ms, None, "{v}");
        }
    }
}
