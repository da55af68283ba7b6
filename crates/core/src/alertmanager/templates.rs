//! Alertmanager's notification templates: its `default.tmpl` and `email.tmpl` (from
//! prometheus/alertmanager at 68fb2d5, Apache License 2.0), run unchanged by vigil's Go-template subset
//! ([`crate::gotemplate`]), plus the `templates:` files a configuration names; and the template
//! data of a notification in the field names templates use (`.Status`, `.Alerts`,
//! `.CommonLabels`, ...).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::gotemplate::Templates;

/// Alertmanager's `template/default.tmpl`.
pub const DEFAULT_TMPL: &str = include_str!("default.tmpl");

/// Alertmanager's `template/email.tmpl` (`email.default.subject`, `email.default.html`).
pub const EMAIL_TMPL: &str = include_str!("email.tmpl");

/// The default templates, parsed once.
pub fn defaults() -> &'static Templates {
    static DEFAULTS: OnceLock<Templates> = OnceLock::new();
    DEFAULTS.get_or_init(|| {
        let mut t = Templates::default();
        t.add(DEFAULT_TMPL).expect("Alertmanager's default.tmpl parses");
        t.add(EMAIL_TMPL).expect("Alertmanager's email.tmpl parses");
        t
    })
}

/// The default templates with those of `texts` (a configuration's `templates:` files) added:
/// a file's error names it.
pub fn with_files(texts: &[(String, String)]) -> Result<Templates, String> {
    let mut t = defaults().clone();
    for (name, text) in texts {
        t.add(text).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(t)
}

/// One rendered text: its name in a message, the integration's field, Alertmanager's default.
pub type Rendered = (&'static str, &'static str, &'static str);

/// The texts each integration kind renders from templates: (the text's name in a message,
/// the integration's field, Alertmanager's default for it). Names: `title` (Slack's title,
/// PagerDuty's description, Opsgenie's message, an email's subject, Teams' title), `text`
/// (Slack's text, Opsgenie's description, an email's text part, Teams' text), `html` (an email's
/// HTML part).
pub const RENDERED: &[(&str, &[Rendered])] = &[
    (
        "slack",
        &[
            ("title", "title", r#"{{ template "slack.default.title" . }}"#),
            ("text", "text", r#"{{ template "slack.default.text" . }}"#),
            // The rest of Alertmanager's Slack message, with its defaults (`SlackConfig` in
            // config/notifiers.go): the attachment's parts and who posts it where.
            ("username", "username", r#"{{ template "slack.default.username" . }}"#),
            ("color", "color", r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#),
            ("title_link", "title_link", r#"{{ template "slack.default.titlelink" . }}"#),
            ("pretext", "pretext", r#"{{ template "slack.default.pretext" . }}"#),
            ("fallback", "fallback", r#"{{ template "slack.default.fallback" . }}"#),
            ("footer", "footer", r#"{{ template "slack.default.footer" . }}"#),
            ("icon_emoji", "icon_emoji", r#"{{ template "slack.default.iconemoji" . }}"#),
            ("icon_url", "icon_url", r#"{{ template "slack.default.iconurl" . }}"#),
            ("channel", "channel", ""),
        ],
    ),
    ("pagerduty", &[("title", "description", r#"{{ template "pagerduty.default.description" .}}"#)]),
    (
        "opsgenie",
        &[
            ("title", "message", r#"{{ template "opsgenie.default.message" . }}"#),
            ("text", "description", r#"{{ template "opsgenie.default.description" . }}"#),
        ],
    ),
    (
        "email",
        &[
            ("title", "headers.Subject", r#"{{ template "email.default.subject" . }}"#),
            ("html", "html", r#"{{ template "email.default.html" . }}"#),
            ("text", "text", ""),
        ],
    ),
    (
        "msteams",
        &[
            ("title", "title", r#"{{ template "msteams.default.title" . }}"#),
            ("text", "text", r#"{{ template "msteams.default.text" . }}"#),
        ],
    ),
    (
        "msteamsv2",
        &[
            ("title", "title", r#"{{ template "msteamsv2.default.title" . }}"#),
            ("text", "text", r#"{{ template "msteamsv2.default.text" . }}"#),
        ],
    ),
];

/// Whether an integration of `kind` renders any text (a webhook sends the data as it is): the
/// [`context`] is built only for those that do.
pub fn renders(kind: &str) -> bool {
    RENDERED.iter().any(|(k, _)| *k == kind)
}

/// The texts an integration of `kind` with `config` renders for template data `data` (as
/// [`context`] gives it): its own templates where it has them, Alertmanager's defaults
/// otherwise; a template that fails renders as its error, so the failure is seen where the
/// message arrives.
pub fn render_integration(
    templates: &Templates,
    kind: &str,
    config: &Value,
    data: &Value,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Some((_, fields)) = RENDERED.iter().find(|(k, _)| *k == kind) else { return out };
    for (name, field, default) in *fields {
        let custom = field.split('.').try_fold(config, |v, k| v.get(k)).and_then(Value::as_str);
        let text = custom.unwrap_or(default);
        if text.is_empty() {
            continue;
        }
        let rendered =
            templates.render(text, data, *name == "html").unwrap_or_else(|e| format!("{e} (rendering `{field}`)"));
        out.insert(name.to_string(), rendered);
    }
    out
}

/// Template data as the webhook sends it ([`super::notification::template_data`]) in the names
/// templates use: `receiver` → `.Receiver`, an alert's `generatorURL` → `.GeneratorURL`, ...;
/// labels and annotations keep their names.
pub fn context(data: &Value) -> Value {
    fn go_name(k: &str) -> String {
        let mut c = k.chars();
        c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
    }
    fn rename(v: &Value) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let inner = match k.as_str() {
                            "alerts" => Value::Array(v.as_array().into_iter().flatten().map(rename).collect()),
                            _ => v.clone(),
                        };
                        (go_name(k), inner)
                    })
                    .collect::<Map<String, Value>>(),
            ),
            other => other.clone(),
        }
    }
    rename(data)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alertmanager::notification::default_title;

    /// The kinds that render texts are exactly those `render_integration` renders for: a
    /// webhook renders nothing (and gets no context built), a Slack message its title and text.
    #[test]
    fn only_kinds_with_texts_render() {
        let d = context(&data(&[("firing", &[("alertname", "Disk")])], &[("alertname", "Disk")]));
        let t = defaults();
        for kind in ["webhook", "alertmanager", "nonsense"] {
            assert!(!renders(kind), "{kind}");
            assert!(render_integration(t, kind, &json!({}), &d).is_empty(), "{kind}");
        }
        for kind in ["slack", "email", "pagerduty", "msteamsv2"] {
            assert!(renders(kind), "{kind}");
            assert!(!render_integration(t, kind, &json!({}), &d).is_empty(), "{kind}");
        }
    }

    fn data(alerts: &[(&str, &[(&str, &str)])], group: &[(&str, &str)]) -> Value {
        let alerts: Vec<Value> = alerts
            .iter()
            .map(|(status, labels)| {
                let labels: Map<String, Value> = labels.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                json!({"status": status, "labels": labels, "annotations": {"summary": "disk full"},
                       "startsAt": "2026-11-26T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                       "generatorURL": "http://prom/graph", "fingerprint": "abc"})
            })
            .collect();
        let group: Map<String, Value> = group.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        let common = alerts[0]["labels"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, v)| alerts.iter().all(|a| a["labels"].get(k.as_str()) == Some(v)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Map<String, Value>>();
        let firing = alerts.iter().any(|a| a["status"] == "firing");
        json!({"receiver": "team", "status": if firing { "firing" } else { "resolved" }, "alerts": alerts,
               "groupLabels": group, "commonLabels": common, "commonAnnotations": {"summary": "disk full"},
               "externalURL": "http://vigil:7700", "groupKey": "{}:{}"})
    }

    #[test]
    fn the_subject_is_what_vigil_titles_notifications() {
        let cases = [
            data(&[("firing", &[("alertname", "Disk"), ("instance", "a")])], &[("alertname", "Disk")]),
            data(
                &[
                    ("firing", &[("alertname", "Disk"), ("instance", "a"), ("team", "db")]),
                    ("resolved", &[("alertname", "Disk"), ("instance", "b"), ("team", "db")]),
                ],
                &[("alertname", "Disk")],
            ),
            data(
                &[("resolved", &[("alertname", "Disk"), ("instance", "a")])],
                &[("alertname", "Disk"), ("instance", "a")],
            ),
        ];
        for d in cases {
            let subject = defaults().render(r#"{{ template "__subject" . }}"#, &context(&d), false).unwrap();
            assert_eq!(subject.trim(), default_title(&d), "{d:#}");
        }
    }

    #[test]
    fn every_default_template_runs_on_a_notification() {
        let d = context(&data(
            &[
                ("firing", &[("alertname", "Disk"), ("instance", "a"), ("severity", "critical")]),
                ("resolved", &[("alertname", "Disk"), ("instance", "b"), ("severity", "critical")]),
            ],
            &[("alertname", "Disk")],
        ));
        let names: Vec<String> = [DEFAULT_TMPL, EMAIL_TMPL]
            .concat()
            .split("{{ define \"")
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_string))
            .collect();
        assert!(names.len() > 50, "{names:?}");
        for name in &names {
            let html = name.contains("html");
            // The alert lists take alerts, as in Alertmanager.
            let arg = if name.contains("alert_list") || name.ends_with(".instances") { ".Alerts" } else { "." };
            defaults()
                .render(&format!("{{{{ template \"{name}\" {arg} }}}}"), &d, html)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let list = defaults().render(r#"{{ template "__text_alert_list" .Alerts.Firing }}"#, &d, false).unwrap();
        assert_eq!(
            list,
            "Labels:\n - alertname = Disk\n - instance = a\n - severity = critical\nAnnotations:\n - summary = disk full\nSource: http://prom/graph\n"
        );
        let html = defaults().render(r#"{{ template "email.default.html" . }}"#, &d, true).unwrap();
        assert!(html.contains("<html") && html.contains("disk full"), "{html}");
    }
}
