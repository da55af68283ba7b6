//! `vigil import alertmanager alertmanager.yml --out DIR`: an Alertmanager configuration as
//! vigil files, its credentials moved out to secrets.
//!
//! - Each receiver becomes a vigil notifier of the receiver's name, in `notifiers/`: its one
//!   integration as that notifier's type, or, for several, one notifier per integration
//!   (`<receiver>-<kind>[-<n>]`) and an `escalation` notifier of the receiver's name whose one
//!   step tells them all. Monitors and ALERT tasks can name it like any notifier.
//! - Each credential (a webhook's, Slack's or Teams' URL, PagerDuty's routing key, Opsgenie's
//!   API key, an SMTP password) becomes `${workflow.secrets.NAME}`, with the
//!   `vigil secret set` command to store it printed; the files carry none.
//! - `alertmanager.yml` keeps its route tree, inhibition rules and time intervals unchanged; its
//!   receivers keep only their names, and route to the notifiers of those names; of `global`
//!   only `resolve_timeout` stays (the rest are the integrations' defaults).

use std::path::PathBuf;

use anyhow::Result;
use serde_json::{Map, Value, json};
use vigil_connectors::notifiers::NotifierConfig;
use vigil_connectors::notifiers::from_alertmanager::document;

use super::{Imported, file_name};

/// `vigil import alertmanager`.
#[derive(clap::Args)]
pub struct Args {
    /// Alertmanager's configuration file.
    pub config: PathBuf,
    /// The config directory to write (`alertmanager.yml`, `notifiers/`).
    #[arg(long)]
    pub out: PathBuf,
}

/// The vigil files `text` (read from `file`) becomes.
pub fn import(file: &std::path::Path, text: &str) -> Result<Imported> {
    let (config, diags) = vigil_core::alertmanager::config::check::check_file(file, text);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == vigil_core::diagnostic::Severity::Error)
        .map(ToString::to_string)
        .collect();
    let Some(config) = config.filter(|_| errors.is_empty()) else {
        anyhow::bail!("{}", errors.join("\n"));
    };
    let mut out = Imported::default();
    for r in &config.receivers {
        let several = r.integrations.len() > 1;
        let mut names = Vec::new();
        for i in &r.integrations {
            let name = if several {
                let same = r.integrations.iter().filter(|o| o.kind == i.kind).count() > 1;
                let base = format!("{}-{}", r.name, i.kind);
                if same { format!("{base}-{}", i.index + 1) } else { base }
            } else {
                r.name.clone()
            };
            let (kind, mut doc) = document(&name, i, &config.global).map_err(|e| anyhow::anyhow!("{}: {e}", i.path))?;
            let secret_fields = NotifierConfig::secret_fields(kind);
            for field in secret_fields {
                if let Some(value) = doc.get(*field).and_then(Value::as_str).map(str::to_string) {
                    let secret = format!("{}_{field}", file_name(&name).replace('-', "_")).to_ascii_lowercase();
                    doc[*field] = json!(format!("${{workflow.secrets.{secret}}}"));
                    out.secrets.insert(secret, value);
                }
            }
            let header = format!("# Imported from Alertmanager's receiver `{}` ({}).\n", r.name, i.path);
            out.files.insert(format!("notifiers/{}.yaml", file_name(&name)), header + &notifier_yaml(kind, &doc));
            names.push(name);
        }
        if several {
            let policy = json!({"name": r.name, "steps": [{"notify": names}]});
            let header = format!("# Alertmanager's receiver `{}`: every integration, told at once.\n", r.name);
            out.files.insert(
                format!("notifiers/{}.yaml", file_name(&r.name)),
                header + &notifier_yaml("escalation", &policy),
            );
        }
        if r.integrations.is_empty() {
            out.notes.push(format!("receiver `{}` has no integration: alerts routed to it tell nobody", r.name));
        }
    }
    let mut doc: Value = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("not YAML: {e}"))?;
    if let Some(receivers) = doc.get_mut("receivers").and_then(Value::as_array_mut) {
        for r in receivers.iter_mut() {
            let name = r.get("name").cloned().unwrap_or(Value::Null);
            *r = json!({"name": name});
        }
    }
    // The rest of `global` are the integrations' defaults (Slack's URL, SMTP's password, ...),
    // now in the notifiers: only `resolve_timeout` stays.
    if let Some(global) = doc.get_mut("global").and_then(Value::as_object_mut) {
        global.retain(|k, _| k == "resolve_timeout");
    }
    if doc.get("global").and_then(Value::as_object).is_some_and(Map::is_empty) {
        doc.as_object_mut().map(|d| d.remove("global"));
    }
    if doc.get("templates").is_some() {
        out.notes.push(
            "`templates`: custom notification templates are not used; vigil sends Alertmanager's default messages"
                .into(),
        );
    }
    let head = "# Imported from Alertmanager: routes, inhibition rules and time intervals as they were.\n\
                # Each receiver routes to the vigil notifier of its name (notifiers/).\n";
    out.files.insert("alertmanager.yml".into(), format!("{head}{}", yaml(&doc, 0)));
    Ok(out)
}

/// A notifier file: `name`, `type`, then the other fields.
pub(super) fn notifier_yaml(kind: &str, doc: &Value) -> String {
    let mut fields = Map::new();
    fields.insert("name".into(), doc["name"].clone());
    fields.insert("type".into(), json!(kind));
    for (k, v) in doc.as_object().into_iter().flatten().filter(|(k, _)| *k != "name") {
        fields.insert(k.clone(), v.clone());
    }
    yaml(&Value::Object(fields), 0)
}

/// `value` as block YAML; scalars in JSON's spelling (valid YAML, quoted where needed).
pub(super) fn yaml(value: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    k.clone()
                } else {
                    json!(k).to_string()
                };
                match v {
                    Value::Object(m) if !m.is_empty() => out += &format!("{pad}{key}:\n{}", yaml(v, indent + 2)),
                    Value::Array(a) if !a.is_empty() => out += &format!("{pad}{key}:\n{}", yaml(v, indent)),
                    _ => out += &format!("{pad}{key}: {v}\n"),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                let text = yaml(item, indent + 2);
                let text = text.strip_prefix(&format!("{pad}  ")).unwrap_or(&text);
                match item {
                    Value::Object(m) if !m.is_empty() => out += &format!("{pad}- {text}"),
                    Value::Array(a) if !a.is_empty() => out += &format!("{pad}- {item}\n"),
                    _ => out += &format!("{pad}- {item}\n"),
                }
            }
        }
        other => out += &format!("{pad}{other}\n"),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
global:
  slack_api_url: https://hooks.slack.com/services/T0/B0/XYZ
route:
  receiver: team
  group_by: [alertname]
  routes:
    - matchers: [severity="critical"]
      receiver: oncall
      continue: true
receivers:
  - name: team
    slack_configs:
      - channel: '#ops'
  - name: oncall
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
    webhook_configs:
      - url: http://hooks.example/a?token=s3cret
      - url: http://hooks.example/b
  - name: blackhole
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [alertname]
"#;

    #[test]
    fn receivers_become_notifiers_and_credentials_secrets() {
        let out = import(std::path::Path::new("am.yml"), CONFIG).unwrap();
        let files: Vec<&str> = out.files.keys().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "alertmanager.yml",
                "notifiers/oncall-pagerduty.yaml",
                "notifiers/oncall-webhook-1.yaml",
                "notifiers/oncall-webhook-2.yaml",
                "notifiers/oncall.yaml",
                "notifiers/team.yaml"
            ]
        );
        let all: String = out.files.values().cloned().collect();
        for secret in ["XYZ", "0123456789abcdef", "s3cret"] {
            assert!(!all.contains(secret), "`{secret}` is left in the files:\n{all}");
        }
        assert_eq!(out.secrets["oncall_pagerduty_routing_key"], "0123456789abcdef0123456789abcdef");
        assert_eq!(out.secrets["team_url"], "https://hooks.slack.com/services/T0/B0/XYZ");
        assert!(out.files["notifiers/team.yaml"].contains("url: \"${workflow.secrets.team_url}\""));
        let policy: Value = serde_saphyr::from_str(&out.files["notifiers/oncall.yaml"]).unwrap();
        assert_eq!(policy["type"], "escalation");
        assert_eq!(policy["steps"][0]["notify"], json!(["oncall-pagerduty", "oncall-webhook-1", "oncall-webhook-2"]));
        assert!(out.notes.iter().any(|n| n.contains("blackhole")));
    }

    #[test]
    fn the_routing_tree_is_kept_with_bare_receivers() {
        let out = import(std::path::Path::new("am.yml"), CONFIG).unwrap();
        let text = &out.files["alertmanager.yml"];
        let config = vigil_core::alertmanager::config::parse(text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        let original = vigil_core::alertmanager::config::parse(CONFIG).unwrap();
        assert_eq!(format!("{:?}", config.route), format!("{:?}", original.route), "{text}");
        assert_eq!(format!("{:?}", config.inhibit_rules), format!("{:?}", original.inhibit_rules));
        assert!(config.receivers.iter().all(|r| r.integrations.is_empty()));
        assert_eq!(config.receivers.len(), 3);
    }

    #[test]
    fn a_bad_configuration_is_refused_where_it_is_wrong() {
        let e = import(std::path::Path::new("am.yml"), "route:\n  receiver: nobody\nreceivers: []\n").unwrap_err();
        assert!(e.to_string().contains("am.yml:"), "{e}");
    }
}
