//! vigil's alerts as Alertmanager's API shows them (`GET /api/v2/alerts`, the `gettableAlert`
//! schema), for `amtool`, Grafana's and karma's Alertmanager data sources: every alert vigil
//! holds, pushed or its own.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Matcher;
use crate::alert::{AlertRequest, AlertState, Condition};
use crate::time::Millis;

/// Alertmanager's zero time, for an end nobody set.
const ZERO_TIME: &str = "0001-01-01T00:00:00.000Z";

/// What `GET /api/v2/alerts` asks for (its query parameters; all `true` by default).
#[derive(Debug, Clone)]
pub struct Filter {
    /// Matchers every alert shown matches (`filter=...`, repeated).
    pub matchers: Vec<Matcher>,
    /// Show alerts that are active (not silenced).
    pub active: bool,
    /// Show silenced ones.
    pub silenced: bool,
    /// Show inhibited ones.
    pub inhibited: bool,
    /// Show unprocessed ones (vigil has none: a pushed alert is processed before the answer).
    pub unprocessed: bool,
    /// Only those routed to a receiver whose name matches this regex.
    pub receiver: Option<regex_lite::Regex>,
    /// At most this many, in fingerprint order (vigil's addition: Alertmanager answers all).
    pub limit: Option<usize>,
    /// Only those whose fingerprint sorts after this one (the `next` page of a `limit`).
    pub after: Option<String>,
}

/// The largest page `limit` asks for.
pub const MAX_LIMIT: usize = 10_000;

impl Default for Filter {
    fn default() -> Self {
        Self {
            matchers: Vec::new(),
            active: true,
            silenced: true,
            inhibited: true,
            unprocessed: true,
            receiver: None,
            limit: None,
            after: None,
        }
    }
}

impl Filter {
    /// Reads `GET /api/v2/alerts`' query parameters (`filter` repeated, `active`, `silenced`,
    /// `inhibited`, `unprocessed`, `receiver`, and vigil's `limit` and `after`); an unknown one is
    /// ignored, as Alertmanager does.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Filter, String> {
        let mut f = Filter::default();
        for (k, v) in pairs {
            let flag = || match v.as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                other => Err(format!("{k}: `{other}` is not true or false")),
            };
            match k.as_str() {
                "filter" => f.matchers.extend(super::parse_matchers(v).map_err(|e| format!("filter {v:?}: {e}"))?),
                "active" => f.active = flag()?,
                "silenced" => f.silenced = flag()?,
                "inhibited" => f.inhibited = flag()?,
                "unprocessed" => f.unprocessed = flag()?,
                "limit" => {
                    let n = v.parse::<usize>().ok().filter(|n| (1..=MAX_LIMIT).contains(n));
                    f.limit = Some(n.ok_or_else(|| format!("limit: `{v}` is not a number from 1 to {MAX_LIMIT}"))?);
                }
                "after" => f.after = Some(v.clone()),
                "receiver" if !v.is_empty() => {
                    let re =
                        regex_lite::Regex::new(&format!("^(?:{v})$")).map_err(|e| format!("receiver {v:?}: {e}"))?;
                    f.receiver = Some(re);
                }
                _ => {}
            }
        }
        Ok(f)
    }
}

/// An alert's labels as Alertmanager has them: its labels and its name as `alertname`.
pub fn labels_of(request: &AlertRequest) -> BTreeMap<String, String> {
    let mut labels = request.labels.clone();
    labels.entry("alertname".into()).or_insert_with(|| request.name.clone());
    labels
}

/// Why an alert is held, and who it goes to.
#[derive(Debug, Clone, Default)]
pub struct Muting {
    /// The ids of the silences muting it.
    pub silenced_by: Vec<String>,
    /// The fingerprints of the firing alerts inhibiting it.
    pub inhibited_by: Vec<String>,
    /// The receivers it is routed to (a routing tree's receivers, else its notifiers).
    pub receivers: Vec<String>,
    /// What holds it by time: the time intervals muting every route it takes, and `maintenance`
    /// for a status page's maintenance window over its monitor.
    pub muted_by: Vec<String>,
}

/// The alert with `request` and `state` (last changed at `updated_at`) as a `gettableAlert`,
/// if it is one `filter` shows.
pub fn gettable(
    request: &AlertRequest,
    state: &AlertState,
    updated_at: Millis,
    muting: &Muting,
    filter: &Filter,
) -> Option<Value> {
    let silenced_by = &muting.silenced_by;
    if state.condition != Condition::Firing {
        return None;
    }
    let labels = labels_of(request);
    if !super::all_match(&filter.matchers, &labels) {
        return None;
    }
    let silenced = !silenced_by.is_empty();
    let inhibited = !muting.inhibited_by.is_empty();
    let active = !silenced && !inhibited && muting.muted_by.is_empty();
    if (silenced && !filter.silenced) || (inhibited && !filter.inhibited) || (active && !filter.active) {
        return None;
    }
    if let Some(re) = &filter.receiver
        && !muting.receivers.iter().any(|n| re.is_match(n))
    {
        return None;
    }
    let pushed = request.source == super::request::SOURCE;
    let annotations = match request.details.get("annotations") {
        Some(a @ Value::Object(_)) if pushed => a.clone(),
        _ => json!({"summary": request.summary}),
    };
    let starts = if pushed { request.details.get("startsAt").and_then(Value::as_i64) } else { None };
    let starts = starts.or(state.firing_since).unwrap_or(updated_at);
    let ends = state.expires_at.map_or_else(|| ZERO_TIME.to_string(), format_time);
    let generator = request.links.iter().find_map(|l| l.get("href").and_then(Value::as_str)).unwrap_or_default();
    Some(json!({
        "labels": labels,
        "annotations": annotations,
        "startsAt": format_time(starts),
        "endsAt": ends,
        "updatedAt": format_time(updated_at),
        "generatorURL": generator,
        "fingerprint": super::fingerprint_hex(&labels),
        "receivers": muting.receivers.iter().map(|n| json!({"name": n})).collect::<Vec<_>>(),
        "status": {
            "state": if active { "active" } else { "suppressed" },
            "silencedBy": silenced_by,
            "inhibitedBy": muting.inhibited_by,
            "mutedBy": muting.muted_by,
        },
    }))
}

/// A time as Alertmanager's API writes it: RFC 3339 with milliseconds, UTC.
pub fn format_time(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map(|t| format!("{t:.3}")).unwrap_or_else(|_| ZERO_TIME.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Observation;

    fn firing(request: &AlertRequest, now: Millis) -> AlertState {
        let mut state = AlertState::default();
        state.observe(&request.rule, request.observation(), now, false);
        state.hold_until(request.observation(), request.expires_at);
        state
    }

    fn silenced_by_s1() -> Muting {
        Muting { silenced_by: vec!["s1".into()], ..Muting::default() }
    }

    #[test]
    fn a_pushed_alert_reads_back_as_it_was_pushed() {
        let body = json!([{"labels": {"alertname": "Down", "job": "node"}, "annotations": {"summary": "s"},
            "startsAt": "2023-11-14T22:00:00Z", "generatorURL": "http://prom/g"}]);
        let now = 1_700_000_000_000;
        let (alerts, _) = super::super::read_posted(&body, now, 300_000).unwrap();
        let request = super::super::request::to_request(&alerts[0], now, &["pager".into()]);
        let state = firing(&request, now);
        let routed = Muting { receivers: request.notifiers.clone(), ..Muting::default() };
        let got = gettable(&request, &state, now, &routed, &Filter::default()).unwrap();
        assert_eq!(got["labels"], json!({"alertname": "Down", "job": "node"}));
        assert_eq!(got["annotations"], json!({"summary": "s"}));
        assert_eq!(got["startsAt"], json!("2023-11-14T22:00:00.000Z"));
        assert_eq!(got["endsAt"], json!("2023-11-14T22:18:20.000Z"), "now plus resolve_timeout");
        assert_eq!(got["generatorURL"], json!("http://prom/g"));
        assert_eq!(got["fingerprint"], json!(super::super::fingerprint_hex(&alerts[0].labels)));
        assert_eq!(got["status"]["state"], json!("active"));
        assert_eq!(got["receivers"], json!([{"name": "pager"}]));

        let only = |m: &str| Filter { matchers: super::super::parse_matchers(m).unwrap(), ..Filter::default() };
        assert!(gettable(&request, &state, now, &Muting::default(), &only(r#"job=~"no.*""#)).is_some());
        assert!(gettable(&request, &state, now, &Muting::default(), &only("job=db")).is_none());
        let silenced = gettable(&request, &state, now, &silenced_by_s1(), &Filter::default()).unwrap();
        assert_eq!(
            (silenced["status"]["state"].clone(), silenced["status"]["silencedBy"].clone()),
            (json!("suppressed"), json!(["s1"]))
        );
        let active_only = Filter { silenced: false, ..Filter::default() };
        assert!(gettable(&request, &state, now, &silenced_by_s1(), &active_only).is_none());
        let mut resolved = state.clone();
        resolved.observe(&request.rule, Observation::Passing, now, false);
        assert!(
            gettable(&request, &resolved, now, &Muting::default(), &Filter::default()).is_none(),
            "only firing alerts"
        );
    }
}
