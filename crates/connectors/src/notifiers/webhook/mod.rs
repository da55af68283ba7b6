//! A generic JSON webhook: any method, custom headers, and a body template whose `${alert.FIELD}`
//! references take the alert's fields (`notice`, `dedup_key`, `name`, `severity`, `summary`,
//! `details`, `labels`, `source`, `firing_since`, `at`, `title`). Without a template the body is
//! the whole alert message. With `batch: N` (N > 1) one request carries up to N notifications as
//! `{"alerts": [BODY, ...]}`, as Alertmanager's webhook groups them; the receiver then always gets
//! that shape, even for one alert.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use vigil_core::params::{self, Scope, Secrets};

use vigil_core::time::Millis;

use super::{AlertMessage, Encoding, NotifyError, OutgoingRequest};

/// `type: webhook`.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Notifier name.
    pub name: String,
    /// Target URL.
    pub url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default = "post")]
    pub method: String,
    /// Extra headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template with `${alert.FIELD}` references.
    #[serde(default)]
    pub body: Option<Value>,
    /// Most notifications per request; above 1 the body is `{"alerts": [...]}`.
    #[serde(default = "one")]
    pub batch: usize,
    /// The body's shape: vigil's alert message (default) or Alertmanager's webhook payload
    /// (`version: "4"`, a group's alerts), for receivers written for Alertmanager.
    #[serde(default)]
    pub format: WebhookFormat,
    /// With `format: alertmanager`: most alerts per payload, the rest counted in
    /// `truncatedAlerts` (0: all).
    #[serde(default)]
    pub max_alerts: usize,
}

/// A webhook body's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum WebhookFormat {
    /// vigil's alert message, or the body template.
    #[default]
    Vigil,
    /// Alertmanager's webhook payload.
    Alertmanager,
}

fn one() -> usize {
    1
}

fn post() -> String {
    "POST".into()
}

struct AlertScope(Value);

impl Scope for AlertScope {
    fn workflow_field(&self, _: &str) -> Option<Cow<'_, Value>> {
        None
    }
    fn task_field(&self, head: &str, field: &str) -> Option<Cow<'_, Value>> {
        (head == "alert").then(|| self.0.get(field).map(Cow::Borrowed)).flatten()
    }
    fn secret(&self, _: &str) -> Option<String> {
        None
    }
    fn env(&self, _: &str) -> Option<String> {
        None
    }
}

/// The fields a body template reads as `${alert.FIELD}`.
pub const TEMPLATE_FIELDS: [&str; 13] = [
    "notice",
    "dedup_key",
    "name",
    "severity",
    "summary",
    "details",
    "labels",
    "source",
    "firing_since",
    "at",
    "links",
    "test",
    "title",
];

impl WebhookConfig {
    /// The first reference of the body template that no alert can fill: its field path, the
    /// problem and a suggestion. Checked when the notifier loads, not at the first page.
    pub fn template_problem(&self) -> Option<(String, String, Option<String>)> {
        use vigil_core::params::{Found, find_all};
        let body = self.body.as_ref()?;
        find_all(body, "body").into_iter().find_map(|(at, found)| match found {
            Found::Unclosed(text) => Some((at, format!("`{text}` opens `${{` but never closes it"), None)),
            // Credentials are substituted when the notifier loads.
            Found::Reference(r) if r.starts_with("workflow.secrets.") || r.starts_with("env.") => None,
            Found::Reference(r) => {
                let field = r.strip_prefix("alert.").map(|f| f.split(['.', '[']).next().unwrap_or_default());
                match field {
                    Some(f) if TEMPLATE_FIELDS.contains(&f) => None,
                    Some(f) => Some((
                        at,
                        format!("`${{{r}}}`: an alert has no field `{f}` (fields: {})", TEMPLATE_FIELDS.join(", ")),
                        vigil_core::diagnostic::did_you_mean(f, TEMPLATE_FIELDS),
                    )),
                    None => Some((at, format!("`${{{r}}}`: a webhook body reads only `${{alert.FIELD}}`"), None)),
                }
            }
        })
    }

    /// The request for `msg`.
    pub fn build_request(&self, msg: &AlertMessage) -> Result<OutgoingRequest, NotifyError> {
        self.build_batch_request(std::slice::from_ref(msg))
    }

    /// One request for `msgs`: the single body when `batch` is 1, else `{"alerts": [...]}`.
    pub fn build_batch_request(&self, msgs: &[AlertMessage]) -> Result<OutgoingRequest, NotifyError> {
        let method = match self.method.to_ascii_uppercase().as_str() {
            "POST" => "POST",
            "PUT" => "PUT",
            other => return Err(NotifyError::Invalid(format!("webhook: method `{other}` must be POST or PUT"))),
        };
        let mut bodies = msgs.iter().map(|m| self.body(m)).collect::<Result<Vec<_>, _>>()?;
        let body = match (self.batch, bodies.len()) {
            (0 | 1, 1) => bodies.remove(0),
            (0 | 1, n) => return Err(NotifyError::Invalid(format!("webhook: {n} notifications, but `batch` is 1"))),
            _ => serde_json::json!({ "alerts": bodies }),
        };
        let headers = self.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(OutgoingRequest { method, url: self.url.clone(), headers, body, encoding: Encoding::Json })
    }

    /// The body for one notification: the template, or the whole message.
    fn body(&self, msg: &AlertMessage) -> Result<Value, NotifyError> {
        if self.format == WebhookFormat::Alertmanager {
            return Ok(alertmanager_body(msg, self.max_alerts));
        }
        let mut fields = serde_json::to_value(msg).unwrap_or(Value::Null);
        fields["title"] = Value::String(msg.title());
        match &self.body {
            Some(template) => params::resolve(template, &AlertScope(fields), Secrets::Mask)
                .map_err(|e| NotifyError::Invalid(format!("webhook body: {e}"))),
            None => Ok(fields),
        }
    }
}

/// Alertmanager's webhook payload for `msg`: a group's notification carries its template data as
/// its details; any other alert reads as a group of one.
fn alertmanager_body(msg: &AlertMessage, max_alerts: usize) -> Value {
    use vigil_core::alertmanager::notification::webhook_body;
    if msg.details.get("groupKey").is_some() {
        return webhook_body(&msg.details, max_alerts);
    }
    let resolved = msg.notice == vigil_core::alert::Notice::Resolve;
    let mut labels = msg.labels.clone();
    labels.entry("alertname".into()).or_insert_with(|| msg.name.clone());
    let status = if resolved { "resolved" } else { "firing" };
    let time = vigil_core::alertmanager::format_time;
    let data = serde_json::json!({
        "receiver": msg.source, "status": status, "groupKey": msg.dedup_key, "externalURL": "",
        "groupLabels": {}, "commonLabels": labels, "commonAnnotations": {"summary": msg.summary},
        "alerts": [{
            "status": status, "labels": labels, "annotations": {"summary": msg.summary},
            "startsAt": time(msg.firing_since),
            "endsAt": if resolved { time(msg.at) } else { "0001-01-01T00:00:00Z".to_string() },
            "generatorURL": msg.links.first().map(|l| l.href.clone()).unwrap_or_default(),
            "fingerprint": vigil_core::alertmanager::fingerprint_hex(&labels),
        }],
    });
    webhook_body(&data, max_alerts)
}

impl super::Notifier for WebhookConfig {
    const TYPE: &'static str = "webhook";
    const SECRETS: &'static [&'static str] = &["url"];
    /// a webhook: unlimited (its endpoint is the user's own).
    const RATE_LIMIT: Option<(f64, f64)> = None;

    fn name(&self) -> &str {
        &self.name
    }

    fn problem(&self) -> Option<(String, String, Option<String>)> {
        self.template_problem()
    }

    fn request(&self, msg: &AlertMessage, _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_request(msg)
    }

    fn max_batch(&self) -> usize {
        self.batch.max(1)
    }

    fn batch_request(&self, msgs: &[AlertMessage], _now: Millis) -> Result<OutgoingRequest, NotifyError> {
        self.build_batch_request(msgs)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_core::alert::Notice;

    use super::*;
    use crate::notifiers::fixtures::message;

    #[test]
    fn template_takes_alert_fields_with_their_types() {
        let hook: WebhookConfig = serde_json::from_value(json!({
            "name": "hook", "url": "http://127.0.0.1:9/hook", "headers": {"X-Token": "t"},
            "body": {"text": "${alert.title} (${alert.severity})", "key": "${alert.dedup_key}", "labels": "${alert.labels}", "state": "${alert.notice}"}
        }))
        .unwrap();
        let req = hook.build_request(&message(Notice::Resolve)).unwrap();
        assert_eq!(req.headers, vec![("X-Token".to_string(), "t".to_string())]);
        insta::assert_json_snapshot!(req.body);
    }

    #[test]
    fn default_body_is_the_whole_message() {
        let hook: WebhookConfig =
            serde_json::from_value(json!({"name": "hook", "url": "http://127.0.0.1:9/hook"})).unwrap();
        let req = hook.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(req.body["dedup_key"], json!("failure_alert/sample_tracker_workflow"));
        assert_eq!(req.body["notice"], json!("trigger"));
    }

    #[test]
    fn a_batching_hook_always_sends_a_list() {
        let hook: WebhookConfig = serde_json::from_value(
            json!({"name": "hook", "url": "http://127.0.0.1:9/hook", "batch": 50, "body": {"key": "${alert.dedup_key}"}}),
        )
        .unwrap();
        let one = hook.build_request(&message(Notice::Trigger)).unwrap();
        assert_eq!(one.body, json!({"alerts": [{"key": "failure_alert/sample_tracker_workflow"}]}));
        let two = hook.build_batch_request(&[message(Notice::Trigger), message(Notice::Resolve)]).unwrap();
        assert_eq!(two.body["alerts"].as_array().unwrap().len(), 2);
        let single: WebhookConfig =
            serde_json::from_value(json!({"name": "hook", "url": "http://127.0.0.1:9/hook"})).unwrap();
        assert!(single.build_batch_request(&[message(Notice::Trigger), message(Notice::Resolve)]).is_err());
    }
}
