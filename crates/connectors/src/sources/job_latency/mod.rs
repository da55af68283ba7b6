//! `job_latency`: a job must finish (or start) often enough. Polls a status endpoint, reads the
//! job's last time and status through JSON paths, and judges them as an expected event
//! ([`vigil_core::monitor::expect::Deadline`]): older than `latency` is critical, older than
//! `warnAt` of it (80 % by default, as Robopager) a warning, a failed status critical.
//!
//! A second form watches vigil's own runs: `workflow: NAME` instead of `url` checks that the named
//! workflow last completed within the latency (the runtime reads its instances from the store and
//! calls [`JobLatencyConfig::judge`]).
//!
//! Robopager's batchy answer (`GET /get_status/{wf_name}` →
//! `{"global": {"batch_start": "2026-11-23T09:00:00.000000", "status": "success"}}`, naive UTC
//! times) works without configuring the paths.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use vigil_core::alert::Tier;
use vigil_core::monitor::evaluate::{Answer, Sample, json_path};
use vigil_core::monitor::expect::Deadline;
use vigil_core::time::{Millis, parse_duration};

use super::{SourceProblem, SourceRequest};

/// What a monitor writes under `source: {job_latency: ...}`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobLatencyConfig {
    /// The status endpoint.
    #[serde(default)]
    pub url: Option<String>,
    /// Or a vigil workflow whose last completed run is watched.
    #[serde(default)]
    pub workflow: Option<String>,
    /// The longest time since the job's last time, e.g. `60m`.
    pub latency: String,
    /// The fraction of `latency` past which it is a warning (default 0.8).
    #[serde(default)]
    pub warn_at: Option<f64>,
    /// JSON path of the job's last time (default batchy's `global.batch_start`): RFC 3339, a
    /// naive `YYYY-MM-DDTHH:MM:SS[.ffffff]` read as UTC, or epoch seconds.
    #[serde(default)]
    pub time: Option<String>,
    /// JSON path of its status (default `global.status`).
    #[serde(default)]
    pub status: Option<String>,
    /// Statuses that mean the job failed (default `failure`, `failed`, `error`).
    #[serde(default)]
    pub failed: Option<Vec<String>>,
    /// Headers (a bearer token, say; values may hold credentials).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Time the call may take (default 10s).
    #[serde(default)]
    pub timeout: Option<String>,
}

impl JobLatencyConfig {
    /// Checks what can be checked before asking.
    fn check(&self) -> Result<(), SourceProblem> {
        let problem = |path: &str, message: String| SourceProblem { path: path.into(), message };
        match (&self.url, &self.workflow) {
            (Some(_), Some(_)) => return Err(problem("workflow", "give `url` or `workflow`, not both".into())),
            (None, None) => {
                return Err(problem(
                    "",
                    "a job_latency source needs `url` (a status endpoint) or `workflow` (a vigil workflow)".into(),
                ));
            }
            (Some(url), None) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(problem("url", format!("`url` must start with http:// or https://, got `{url}`")));
            }
            _ => {}
        }
        match parse_duration(&self.latency) {
            Ok(ms) if ms > 0 => {}
            Ok(_) => return Err(problem("latency", "`latency` is longer than zero".into())),
            Err(e) => return Err(problem("latency", format!("`latency`: {e}"))),
        }
        super::check_warn_at_and_timeout(self.warn_at, self.timeout.as_deref())
    }

    /// The status endpoint's call, once `check` passed; `None` for the workflow form.
    fn call(&self) -> Option<SourceRequest> {
        let url = self.url.as_ref()?;
        let timeout =
            super::duration(self.timeout.as_deref(), super::DEFAULT_TIMEOUT).unwrap_or(super::DEFAULT_TIMEOUT);
        let headers = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Some(SourceRequest { method: "GET", url: url.clone(), headers, body: None, timeout })
    }
}

/// A `job_latency` source as it runs: its latency, failed statuses and call read once.
#[derive(Debug, Clone, PartialEq)]
pub struct JobLatency {
    /// As written (the workflow it watches, the JSON paths, the latency as text for notes).
    pub config: JobLatencyConfig,
    latency_ms: Millis,
    failed: Vec<String>,
    /// The status endpoint's call; `None` when the source watches a workflow.
    call: Option<SourceRequest>,
}

impl JobLatency {
    /// Reads an answer received at `now`.
    pub fn parse_at(&self, status: u16, body: &[u8], now: Millis) -> Answer {
        if !(200..300).contains(&status) {
            return Answer::Failed(format!("job status endpoint answered {status}"));
        }
        let Ok(doc) = serde_json::from_slice::<Value>(body) else {
            return Answer::Failed("job status endpoint did not answer JSON".into());
        };
        let time_path = self.config.time.as_deref().unwrap_or("global.batch_start");
        let Some(at) = json_path(&doc, time_path).and_then(read_time) else {
            return Answer::Failed(format!("no time at `{time_path}` in the job's status"));
        };
        let status_path = self.config.status.as_deref().unwrap_or("global.status");
        let state = json_path(&doc, status_path).and_then(Value::as_str).unwrap_or_default().to_string();
        self.judge(at, &state, now)
    }

    /// The verdict on a job whose last time is `at` and whose status is `state`, at `now`.
    pub fn judge(&self, at: Millis, state: &str, now: Millis) -> Answer {
        let state = state.to_string();
        let warn_at = self.config.warn_at.unwrap_or(0.8);
        let deadline = Deadline::with_fraction(at, at + self.latency_ms, warn_at);
        let (mut tier, _) = deadline.tier_at(now);
        let minutes = (now - at) as f64 / 60_000.0;
        let mut note = match tier {
            Tier::Critical => {
                Some(format!("last run {minutes:.0} min ago, more than the {} allowed", self.config.latency))
            }
            Tier::Warning => {
                Some(format!("last run {minutes:.0} min ago, past {:.0} % of {}", 100.0 * warn_at, self.config.latency))
            }
            Tier::Ok => None,
        };
        if self.failed.iter().any(|f| f.eq_ignore_ascii_case(&state)) {
            tier = Tier::Critical;
            note = Some(format!("the job's status is `{state}`"));
        }
        let mut fields = Map::new();
        fields.insert("latency_minutes".into(), Value::from((minutes * 10.0).round() / 10.0));
        fields.insert("status".into(), Value::String(state));
        fields.insert("last_time".into(), Value::String(vigil_core::time::format_millis(at)));
        Answer::Samples(vec![Sample { labels: BTreeMap::new(), fields, tier: Some(tier), note }])
    }
}

/// A time as batchy, RFC 3339 or epoch seconds write it.
fn read_time(v: &Value) -> Option<Millis> {
    match v {
        Value::Number(n) => n.as_f64().map(|s| (s * 1000.0) as Millis),
        Value::String(s) => {
            if let Ok(ts) = s.parse::<jiff::Timestamp>() {
                return Some(ts.as_millisecond());
            }
            let naive: jiff::civil::DateTime = s.parse().ok()?;
            naive.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_millisecond())
        }
        _ => None,
    }
}

impl super::SourceConfig for JobLatencyConfig {
    type Built = JobLatency;

    fn build(self) -> Result<JobLatency, SourceProblem> {
        self.check()?;
        let latency_ms = parse_duration(&self.latency).unwrap_or(i64::MAX / 4);
        let failed = self.failed.clone().unwrap_or_else(|| vec!["failure".into(), "failed".into(), "error".into()]);
        let call = self.call();
        Ok(JobLatency { config: self, latency_ms, failed, call })
    }
}

impl super::Ask for JobLatency {
    /// A status endpoint is asked over HTTP; a workflow's runs are read from vigil's store by
    /// the runtime, which never asks this.
    async fn ask(&self, client: &reqwest::Client, now: Millis) -> Answer {
        match &self.call {
            Some(call) => {
                Box::pin(super::ask_over_http(client, call, |status, body| self.parse_at(status, body, now))).await
            }
            None => {
                Answer::Failed("a job_latency source on a workflow is read from vigil's store, not over HTTP".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sources::SourceConfig;

    fn config(extra: Value) -> JobLatency {
        let mut doc = json!({"url": "http://batchy:8050/get_status/intraday_latency_check", "latency": "60m"});
        doc.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let c: JobLatencyConfig = serde_json::from_value(doc).unwrap();
        c.build().unwrap()
    }

    fn at(text: &str) -> Millis {
        text.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn tier(answer: &Answer) -> (Tier, Option<String>) {
        match answer {
            Answer::Samples(s) => (s[0].tier.unwrap(), s[0].note.clone()),
            Answer::Failed(e) => panic!("{e}"),
        }
    }

    /// Robopager's batchy answer, naive UTC with microseconds, with no paths configured: ok
    /// under 48 minutes, a warning from 80 % of the hour, critical at the hour; a failed status
    /// is critical at once.
    #[test]
    fn batchy_answers_need_no_configuration() {
        let c = config(json!({}));
        let body = br#"{"global": {"batch_start": "2026-11-23T09:00:00.123456", "status": "success"}}"#;
        assert_eq!(tier(&c.parse_at(200, body, at("2026-11-23T09:47:00Z"))).0, Tier::Ok);
        let (t, note) = tier(&c.parse_at(200, body, at("2026-11-23T09:48:01Z")));
        assert_eq!(t, Tier::Warning);
        assert!(note.unwrap().contains("past 80 % of 60m"));
        assert_eq!(tier(&c.parse_at(200, body, at("2026-11-23T10:00:01Z"))).0, Tier::Critical);
        let failed = br#"{"global": {"batch_start": "2026-11-23T09:00:00.000000", "status": "failure"}}"#;
        let (t, note) = tier(&c.parse_at(200, failed, at("2026-11-23T09:01:00Z")));
        assert_eq!((t, note.as_deref()), (Tier::Critical, Some("the job's status is `failure`")));
    }

    #[test]
    fn other_shapes_through_paths_and_bad_answers() {
        let c = config(json!({"time": "last.ended", "status": "last.state", "warnAt": 0.5, "failed": ["BROKEN"]}));
        let body = br#"{"last": {"ended": "2026-11-23T09:00:00+01:00", "state": "ok"}}"#;
        assert_eq!(tier(&c.parse_at(200, body, at("2026-11-23T08:31:00Z"))).0, Tier::Warning);
        let epoch = br#"{"last": {"ended": 1795424400, "state": "broken"}}"#;
        assert_eq!(tier(&c.parse_at(200, epoch, 1_795_424_400_000)).0, Tier::Critical, "failed matches case-blind");
        assert!(matches!(c.parse_at(500, body, 0), Answer::Failed(e) if e.contains("500")));
        assert!(matches!(c.parse_at(200, b"{}", 0), Answer::Failed(e) if e.contains("no time at `last.ended`")));
        let bad: JobLatencyConfig = serde_json::from_value(json!({"url": "batchy", "latency": "1h"})).unwrap();
        assert_eq!(bad.build().unwrap_err().path, "url");
        let bad: JobLatencyConfig = serde_json::from_value(json!({"url": "http://b", "latency": "soon"})).unwrap();
        assert_eq!(bad.build().unwrap_err().path, "latency");
    }
}
