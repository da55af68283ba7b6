//! A pushed Alertmanager alert as an observation of vigil's alert lifecycle: one dedup key per
//! label set, failing until its `endsAt` (which then resolves it by itself), its severity from
//! its `severity` label, its summary from its annotations.

use std::collections::BTreeMap;

use serde_json::json;

use super::Alert;
use crate::alert::{AlertRequest, AlertRule, default_key};
use crate::time::Millis;

/// The `source` of pushed alerts.
pub const SOURCE: &str = "alertmanager";

/// How pushed alerts become notifications: at once, a reminder every 4 hours (Alertmanager's
/// default `repeat_interval`), resolves sent, no flap detection (Alertmanager has none).
pub fn rule() -> AlertRule {
    AlertRule {
        for_ms: 0,
        fire_after: 1,
        resolve_after: 1,
        repeat_interval_ms: Some(4 * 3_600_000),
        send_resolved: true,
        flap_threshold: 0,
        flap_window_ms: 0,
    }
}

/// vigil's severity for an alert's `severity` label (Prometheus rules' common words).
pub fn severity(labels: &BTreeMap<String, String>) -> &'static str {
    match labels.get("severity").map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("critical" | "crit" | "page" | "high" | "p1" | "emergency" | "alert") => "critical",
        Some("warning" | "warn" | "medium" | "minor" | "p2" | "p3") => "warning",
        Some("info" | "informational" | "low" | "none" | "notice" | "p4" | "p5") => "info",
        _ => "error",
    }
}

/// The dedup key of a label set: `alertmanager/<alertname>{<the other labels>}` (one key per
/// label set, readable where vigil shows it); the fingerprint stands in for a missing name.
pub fn dedup_key(labels: &BTreeMap<String, String>) -> String {
    let mut rest = labels.clone();
    let name = rest.remove("alertname").unwrap_or_else(|| super::fingerprint_hex(labels));
    default_key(SOURCE, &name, &rest)
}

/// Whether `key` is a pushed alert's dedup key ([`dedup_key`]).
pub fn is_pushed_key(key: &str) -> bool {
    key.strip_prefix(SOURCE).is_some_and(|rest| rest.starts_with('/'))
}

/// The observation alert `a` makes at `now`, told to `notifiers`.
pub fn to_request(a: &Alert, now: Millis, notifiers: &[String]) -> AlertRequest {
    let fingerprint = super::fingerprint_hex(&a.labels);
    let name = a.labels.get("alertname").cloned().unwrap_or_else(|| fingerprint.clone());
    let failing = !a.resolved_at(now);
    let summary = ["summary", "description", "message"]
        .iter()
        .find_map(|k| a.annotations.get(*k).filter(|v| !v.trim().is_empty()))
        .cloned()
        .unwrap_or_else(|| name.clone());
    let links =
        if a.generator_url.is_empty() { Vec::new() } else { vec![json!({"href": a.generator_url, "text": "Source"})] };
    AlertRequest {
        dedup_key: dedup_key(&a.labels),
        name,
        failing,
        severity: severity(&a.labels).into(),
        summary,
        details: json!({
            "annotations": a.annotations, "fingerprint": fingerprint, "generatorURL": a.generator_url,
            "startsAt": a.starts_at, "endsAt": a.ends_at,
        }),
        labels: a.labels.clone(),
        notifiers: notifiers.to_vec(),
        links,
        rule: rule(),
        source: SOURCE.into(),
        observation_id: format!("{SOURCE}:{fingerprint}:{}", a.updated_at),
        observed_at: a.updated_at,
        expires_at: failing.then_some(a.ends_at),
        routed: None,
        depends_on: Vec::new(),
        within: None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alert::{AlertState, Notice};

    const MIN: Millis = 60_000;

    fn posted(body: serde_json::Value, now: Millis) -> Alert {
        let (mut alerts, errors) = super::super::read_posted(&body, now, 5 * MIN).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        alerts.remove(0)
    }

    #[test]
    fn an_alert_is_one_key_per_label_set_with_its_severity_and_summary() {
        let a = posted(
            json!([{"labels": {"alertname": "InstanceDown", "instance": "a:9100", "severity": "page"},
                "annotations": {"summary": "a:9100 is down"}, "generatorURL": "http://prom/g"}]),
            1_000,
        );
        let r = to_request(&a, 1_000, &["pager".into()]);
        assert_eq!(r.dedup_key, "alertmanager/InstanceDown{instance=a:9100,severity=page}");
        assert_eq!((r.severity.as_str(), r.summary.as_str(), r.failing), ("critical", "a:9100 is down", true));
        assert_eq!(r.expires_at, Some(1_000 + 5 * MIN), "resolve_timeout after the push");
        assert_eq!(r.links, [json!({"href": "http://prom/g", "text": "Source"})]);
        let nameless = posted(json!([{"labels": {"job": "x"}}]), 1_000);
        assert!(dedup_key(&nameless.labels).starts_with("alertmanager/"), "the fingerprint names it");
        assert!(is_pushed_key(&r.dedup_key) && !is_pushed_key("alertmanagers/x") && !is_pushed_key("monitor/x"));
        assert_eq!(severity(&BTreeMap::new()), "error");
    }

    /// On a manual clock: a pushed alert pages at once, a push again keeps it firing past its
    /// first `endsAt`, and with no push it resolves by itself at the last `endsAt`.
    #[test]
    fn a_pushed_alert_resolves_by_itself_when_its_end_comes() {
        let body = |ends: Millis| {
            let ends = jiff::Timestamp::from_millisecond(ends).unwrap().to_string();
            json!([{"labels": {"alertname": "Down"}, "startsAt": "2023-11-14T22:00:00Z", "endsAt": ends}])
        };
        let t0 = 1_700_000_000_000;
        let mut state = AlertState::default();
        let apply = |state: &mut AlertState, now: Millis, ends: Millis| {
            let r = to_request(&posted(body(ends), now), now, &[]);
            let notices = state.observe_at(&r.rule, r.observation(), r.observed_at, now, false).unwrap();
            state.hold_until(r.observation(), r.expires_at);
            notices
        };
        assert_eq!(apply(&mut state, t0, t0 + 4 * MIN), [Notice::Trigger]);
        assert_eq!(state.next_wake(&rule()), Some(t0 + 4 * MIN));
        assert_eq!(apply(&mut state, t0 + MIN, t0 + 5 * MIN), Vec::<Notice>::new(), "still firing");
        assert_eq!(state.tick(&rule(), t0 + 4 * MIN, false), Vec::<Notice>::new(), "the old end passed");
        assert_eq!(state.next_wake(&rule()), Some(t0 + 5 * MIN));
        assert_eq!(state.tick(&rule(), t0 + 5 * MIN, false), [Notice::Resolve]);
        assert_eq!((state.expires_at, state.next_wake(&rule())), (None, None));
        // A push whose end has passed resolves at once; one for a quiet key changes nothing.
        assert_eq!(apply(&mut state, t0 + 6 * MIN, t0 + 7 * MIN), [Notice::Trigger]);
        assert_eq!(apply(&mut state, t0 + 8 * MIN, t0 + 7 * MIN), [Notice::Resolve]);
        assert_eq!(state.expires_at, None);
    }
}
