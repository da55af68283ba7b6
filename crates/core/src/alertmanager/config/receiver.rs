//! Alertmanager's receivers: a name and its integrations (`webhook_configs`, `email_configs`,
//! ...), each kept as written for the notifier it becomes, with `send_resolved` read with
//! Alertmanager's default for its kind.

use serde_json::Value;

use super::read::Fields;
use crate::diagnostic::Problem;

/// The integration kinds Alertmanager has, their fields, and whether each sends resolves by
/// default.
pub const KINDS: [(&str, &str, bool); 18] = [
    ("discord", "discord_configs", true),
    ("email", "email_configs", false),
    ("incidentio", "incidentio_configs", true),
    ("jira", "jira_configs", true),
    ("mattermost", "mattermost_configs", true),
    ("msteams", "msteams_configs", true),
    ("msteamsv2", "msteamsv2_configs", true),
    ("opsgenie", "opsgenie_configs", true),
    ("pagerduty", "pagerduty_configs", true),
    ("pushover", "pushover_configs", true),
    ("rocketchat", "rocketchat_configs", false),
    ("slack", "slack_configs", false),
    ("sns", "sns_configs", true),
    ("telegram", "telegram_configs", true),
    ("victorops", "victorops_configs", true),
    ("webex", "webex_configs", true),
    ("webhook", "webhook_configs", true),
    ("wechat", "wechat_configs", false),
];

/// One integration of a receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// Its kind (`webhook`, `email`, ...).
    pub kind: String,
    /// Its place among the receiver's integrations of that kind.
    pub index: usize,
    /// Whether it is told when alerts resolve.
    pub send_resolved: bool,
    /// Its fields as written.
    pub config: Value,
    /// Where it is in the configuration.
    pub path: String,
}

impl Integration {
    /// Its name, unique in the configuration: `<receiver>/<kind>/<index>`, as Alertmanager names
    /// integrations in its logs and metrics.
    pub fn name(&self, receiver: &str) -> String {
        format!("{receiver}/{}/{}", self.kind, self.index)
    }
}

/// A receiver.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receiver {
    /// Its name, as routes refer to it.
    pub name: String,
    /// Its integrations (none: alerts routed here are told to nobody, as in Alertmanager).
    pub integrations: Vec<Integration>,
    /// Where it is in the configuration.
    pub path: String,
}

pub(super) fn read(items: Vec<(String, &Value)>, problems: &mut Vec<Problem>) -> Vec<Receiver> {
    let mut out: Vec<Receiver> = Vec::new();
    for (path, v) in items {
        let mut f = Fields::of(v, &path, problems);
        let name = f.string("name", problems).unwrap_or_default();
        if name.is_empty() {
            problems.push(Problem::error(f.at("name"), "missing name in receiver"));
        } else if out.iter().any(|r| r.name == name) {
            problems.push(Problem::error(f.at("name"), format!("notification config name {name:?} is not unique")));
        }
        let _ = f.keep("labels");
        let mut integrations = Vec::new();
        for (kind, key, resolved_by_default) in KINDS {
            for (index, (p, config)) in f.list(key, problems).into_iter().enumerate() {
                if !config.is_object() {
                    problems.push(Problem::error(p, "expected a mapping"));
                    continue;
                }
                let send_resolved = match config.get("send_resolved") {
                    None | Some(Value::Null) => resolved_by_default,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        problems.push(Problem::error(format!("{p}.send_resolved"), "expected true or false"));
                        resolved_by_default
                    }
                };
                integrations.push(Integration {
                    kind: kind.to_string(),
                    index,
                    send_resolved,
                    config: config.clone(),
                    path: p,
                });
            }
        }
        f.finish(problems);
        out.push(Receiver { name, integrations, path });
    }
    out
}
