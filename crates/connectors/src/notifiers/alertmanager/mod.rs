//! Prometheus Alertmanager: `POST /api/v2/alerts` with a list of `{labels, annotations, startsAt,
//! endsAt, generatorURL}`. Alertmanager identifies an alert by its label set, so vigil adds the
//! alert name and dedup key as labels. A firing alert carries an `endsAt` a few resend periods
//! ahead and must be re-sent before then, as Prometheus does; a resolve sends `endsAt` = now.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use vigil_core::alert::Notice;
use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest, rfc3339};

/// `type: alertmanager`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Notifier name.
    pub name: String,
    /// Alertmanager's base URL, such as `http://127.0.0.1:9093`.
    pub url: String,
    /// How often firing alerts are re-sent, in seconds (Prometheus's default is 60).
    #[serde(default = "default_resend")]
    pub resend_interval_seconds: u64,
}

fn default_resend() -> u64 {
    60
}

impl AlertmanagerConfig {
    /// How long a sent firing alert stays valid without a re-send: four resend periods.
    pub fn validity_ms(&self) -> Millis {
        4 * self.resend_interval_seconds as Millis * 1000
    }

    /// The request for `msg`, sent at `now`.
    pub fn build_request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_batch_request(std::slice::from_ref(msg), now)
    }

    /// One request for all of `msgs`: Alertmanager's API takes a list, so a burst of alerts costs
    /// one round trip per batch instead of one per alert.
    pub fn build_batch_request(&self, msgs: &[AlertMessage], now: Millis) -> Result<OutgoingRequest, NotifyError> {
        let alerts = msgs.iter().map(|m| self.alert(m, now)).collect();
        let url = format!("{}/api/v2/alerts", self.url.trim_end_matches('/'));
        Ok(OutgoingRequest {
            method: "POST",
            url,
            headers: Vec::new(),
            body: Value::Array(alerts),
            encoding: Encoding::Json,
        })
    }

    /// One postable alert for `msg`, sent at `now`: a firing alert stays valid for a few resend
    /// periods from the send (not from when it was queued), a resolve ends at the resolve.
    /// Acknowledgements have no Alertmanager equivalent (use silences).
    fn alert(&self, msg: &AlertMessage, now: Millis) -> Value {
        let ends_at = match msg.notice {
            Notice::Resolve => msg.at,
            Notice::Trigger | Notice::Remind | Notice::Change | Notice::Acknowledge => {
                now.max(msg.at) + self.validity_ms()
            }
        };
        let mut labels = Map::new();
        for (k, v) in &msg.labels {
            labels.insert(k.clone(), Value::String(v.clone()));
        }
        labels.insert("alertname".into(), Value::String(msg.name.clone()));
        labels.insert("severity".into(), Value::String(msg.severity.as_str().into()));
        labels.insert("vigil_dedup_key".into(), Value::String(msg.dedup_key.clone()));
        let mut annotations = Map::new();
        annotations.insert("summary".into(), Value::String(msg.summary.clone()));
        if !msg.details.is_null() {
            annotations.insert("description".into(), Value::String(msg.details.to_string()));
        }
        annotations.insert("source".into(), Value::String(msg.source.clone()));
        let mut alert = json!({
            "labels": labels,
            "annotations": annotations,
            "startsAt": rfc3339(msg.firing_since),
            "endsAt": rfc3339(ends_at),
        });
        if let Some(link) = msg.links.first() {
            alert["generatorURL"] = Value::String(link.href.clone());
        }
        alert
    }
}

impl super::Notifier for AlertmanagerConfig {
    const TYPE: &'static str = "alertmanager";
    /// Alertmanager: unlimited; it takes up to 64 alerts a request (`ALERTMANAGER_BATCH`).
    const RATE_LIMIT: Option<(f64, f64)> = None;

    fn name(&self) -> &str {
        &self.name
    }

    fn request(&self, msg: &AlertMessage, now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg, now)
    }

    fn max_batch(&self) -> usize {
        super::ALERTMANAGER_BATCH
    }

    fn batch_request(&self, msgs: &[AlertMessage], now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_batch_request(msgs, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifiers::fixtures::message;

    fn am() -> AlertmanagerConfig {
        serde_json::from_value(json!({"name": "am", "url": "http://127.0.0.1:9093/"})).unwrap()
    }

    #[test]
    fn firing_alert_has_labels_and_a_future_end() {
        let msg = message(Notice::Trigger);
        let req = am().build_request(&msg, msg.at).unwrap();
        assert_eq!(req.url, "http://127.0.0.1:9093/api/v2/alerts");
        insta::assert_json_snapshot!(req.body);
    }

    #[test]
    fn resolve_ends_now_with_the_same_labels() {
        let at = message(Notice::Trigger).at;
        let firing = am().build_request(&message(Notice::Trigger), at).unwrap();
        let resolved = am().build_request(&message(Notice::Resolve), at).unwrap();
        assert_eq!(firing.body[0]["labels"], resolved.body[0]["labels"]);
        assert_eq!(resolved.body[0]["endsAt"], json!(rfc3339(message(Notice::Resolve).at)));
    }

    #[test]
    fn a_batch_is_one_list() {
        let (trigger, mut other) = (message(Notice::Trigger), message(Notice::Resolve));
        other.dedup_key = "other".into();
        let req = am().build_batch_request(&[trigger.clone(), other], trigger.at).unwrap();
        let alerts = req.body.as_array().unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0], am().build_request(&trigger, trigger.at).unwrap().body[0]);
        assert_eq!(alerts[1]["labels"]["vigil_dedup_key"], json!("other"));
    }

    #[test]
    fn a_late_send_is_still_valid_for_the_whole_period() {
        let msg = message(Notice::Trigger);
        let late = msg.at + 3_600_000;
        let req = am().build_request(&msg, late).unwrap();
        assert_eq!(req.body[0]["endsAt"], json!(rfc3339(late + am().validity_ms())));
    }
}
