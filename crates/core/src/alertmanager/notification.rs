//! What a group's notification says, as Alertmanager says it: its template data (`template.Data`:
//! status, receiver, group and common labels, the alerts), which is also the body of its webhook
//! (`version: "4"`), and its default title (`__subject` in `template/default.tmpl`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::group::Group;
use super::{Alert, fingerprint_hex, format_time};
use crate::time::Millis;

/// Go's zero time, which Alertmanager shows as the end of an alert still firing.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The template data of a notification of `group` with `alerts` at `now`.
pub fn template_data(group: &Group, alerts: &[Alert], now: Millis, external_url: &str) -> Value {
    let firing = alerts.iter().any(|a| !a.resolved_at(now));
    let common = |pick: fn(&Alert) -> &BTreeMap<String, String>| -> BTreeMap<String, String> {
        let Some(first) = alerts.first() else { return BTreeMap::new() };
        pick(first)
            .iter()
            .filter(|(k, v)| alerts.iter().all(|a| pick(a).get(*k) == Some(*v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let items: Vec<Value> = alerts
        .iter()
        .map(|a| {
            let resolved = a.resolved_at(now);
            json!({
                "status": if resolved { "resolved" } else { "firing" },
                "labels": a.labels,
                "annotations": a.annotations,
                "startsAt": format_time(a.starts_at),
                "endsAt": if resolved { format_time(a.ends_at) } else { ZERO_TIME.to_string() },
                "generatorURL": a.generator_url,
                "fingerprint": fingerprint_hex(&a.labels),
            })
        })
        .collect();
    json!({
        "receiver": group.receiver,
        "status": if firing { "firing" } else { "resolved" },
        "alerts": items,
        "groupLabels": group.labels,
        "commonLabels": common(|a| &a.labels),
        "commonAnnotations": common(|a| &a.annotations),
        "externalURL": external_url,
        "groupKey": group.key,
    })
}

/// The body Alertmanager's webhook integration posts: the template data with `version` and
/// `truncatedAlerts` (alerts beyond `max_alerts` are left out and counted; 0: no limit).
pub fn webhook_body(data: &Value, max_alerts: usize) -> Value {
    let mut body = data.clone();
    let mut truncated = 0;
    if let Some(alerts) = body["alerts"].as_array_mut()
        && max_alerts > 0
        && alerts.len() > max_alerts
    {
        truncated = alerts.len() - max_alerts;
        alerts.truncate(max_alerts);
    }
    body["version"] = json!("4");
    body["truncatedAlerts"] = json!(truncated);
    body
}

/// Alertmanager's default title: `[FIRING:2] <group label values> (<other common label values>)`.
pub fn default_title(data: &Value) -> String {
    let status = data["status"].as_str().unwrap_or("firing");
    let values = |v: &Value, skip: &Value| -> Vec<String> {
        v.as_object()
            .map(|m| {
                let mut pairs: Vec<(&String, &Value)> =
                    m.iter().filter(|(k, _)| skip.get(k.as_str()).is_none()).collect();
                pairs.sort_by(|a, b| a.0.cmp(b.0));
                pairs.into_iter().map(|(_, v)| v.as_str().unwrap_or_default().to_string()).collect()
            })
            .unwrap_or_default()
    };
    let mut title = format!("[{}", status.to_ascii_uppercase());
    if status == "firing" {
        let n = data["alerts"].as_array().map_or(0, |a| a.iter().filter(|x| x["status"] == "firing").count());
        title.push_str(&format!(":{n}"));
    }
    title.push_str("] ");
    title.push_str(&values(&data["groupLabels"], &Value::Null).join(" "));
    let extra = values(&data["commonLabels"], &data["groupLabels"]);
    if !extra.is_empty() {
        title.push_str(&format!(" ({})", extra.join(" ")));
    }
    title.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alertmanager::group::GroupState;

    fn alert(instance: &str, ends: Millis) -> Alert {
        Alert {
            labels: [("alertname", "Down"), ("job", "node"), ("instance", instance)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: [("runbook".to_string(), "r".to_string())].into(),
            starts_at: 1_700_000_000_000,
            ends_at: ends,
            generator_url: "http://prom/graph".into(),
            updated_at: 0,
            timeout: false,
            row: 0,
        }
    }

    #[test]
    fn a_group_reads_as_alertmanager_writes_it() {
        let group = Group {
            key: "{}:{alertname=\"Down\"}".into(),
            route_id: "{}".into(),
            receiver: "team".into(),
            labels: [("alertname".to_string(), "Down".to_string())].into(),
            timing: Default::default(),
            state: GroupState::default(),
        };
        let now = 1_700_000_100_000;
        let alerts = [alert("a:9100", 0), alert("b:9100", now - 1)];
        let data = template_data(&group, &alerts, now, "http://vigil:8080");
        assert_eq!(data["status"], "firing");
        assert_eq!(data["commonLabels"], json!({"alertname": "Down", "job": "node"}));
        assert_eq!(data["commonAnnotations"], json!({"runbook": "r"}));
        assert_eq!(data["alerts"][0]["endsAt"], ZERO_TIME);
        assert_eq!(data["alerts"][1]["status"], "resolved");
        assert_eq!(data["alerts"][0]["startsAt"], "2023-11-14T22:13:20.000Z");
        assert_eq!(default_title(&data), "[FIRING:1] Down (node)");
        let body = webhook_body(&data, 1);
        assert_eq!((body["version"].clone(), body["truncatedAlerts"].clone()), (json!("4"), json!(1)));
        assert_eq!(body["alerts"].as_array().unwrap().len(), 1);
        let resolved = template_data(&group, &alerts[1..], now, "");
        assert_eq!(default_title(&resolved), "[RESOLVED] Down (b:9100 node)");
    }
}
