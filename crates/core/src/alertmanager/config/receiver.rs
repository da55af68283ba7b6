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

/// The fields each integration kind takes (the `yaml` tags of Alertmanager's `*Config` types,
/// `config/notifiers.go` and `notify/*/config.go`): any other is refused, as Alertmanager's strict
/// reading refuses it.
const FIELDS: [(&str, &[&str]); 18] = [
    (
        "discord",
        &[
            "send_resolved",
            "http_config",
            "webhook_url",
            "webhook_url_file",
            "content",
            "title",
            "message",
            "username",
            "avatar_url",
        ],
    ),
    (
        "email",
        &[
            "send_resolved",
            "to",
            "from",
            "hello",
            "smarthost",
            "auth_username",
            "auth_password",
            "auth_password_file",
            "auth_secret",
            "auth_secret_file",
            "auth_identity",
            "headers",
            "html",
            "text",
            "require_tls",
            "tls_config",
            "force_implicit_tls",
            "threading",
        ],
    ),
    (
        "incidentio",
        &[
            "send_resolved",
            "http_config",
            "url",
            "url_file",
            "alert_source_token",
            "alert_source_token_file",
            "max_alerts",
            "timeout",
        ],
    ),
    (
        "jira",
        &[
            "send_resolved",
            "http_config",
            "api_url",
            "api_type",
            "project",
            "summary",
            "description",
            "labels",
            "priority",
            "issue_type",
            "reopen_transition",
            "resolve_transition",
            "wont_fix_resolution",
            "reopen_duration",
            "fields",
        ],
    ),
    (
        "mattermost",
        &[
            "send_resolved",
            "http_config",
            "webhook_url",
            "webhook_url_file",
            "channel",
            "username",
            "text",
            "fallback",
            "color",
            "pretext",
            "author_name",
            "author_link",
            "author_icon",
            "title",
            "title_link",
            "fields",
            "thumb_url",
            "footer",
            "footer_icon",
            "image_url",
            "icon_url",
            "icon_emoji",
            "attachments",
            "type",
            "props",
            "priority",
        ],
    ),
    ("msteams", &["send_resolved", "http_config", "webhook_url", "webhook_url_file", "title", "summary", "text"]),
    ("msteamsv2", &["send_resolved", "http_config", "webhook_url", "webhook_url_file", "title", "text"]),
    (
        "opsgenie",
        &[
            "send_resolved",
            "http_config",
            "api_key",
            "api_key_file",
            "api_url",
            "message",
            "description",
            "source",
            "details",
            "entity",
            "responders",
            "actions",
            "tags",
            "note",
            "priority",
            "update_alerts",
        ],
    ),
    (
        "pagerduty",
        &[
            "send_resolved",
            "http_config",
            "service_key",
            "service_key_file",
            "routing_key",
            "routing_key_file",
            "url",
            "client",
            "client_url",
            "description",
            "details",
            "images",
            "links",
            "source",
            "severity",
            "class",
            "component",
            "group",
            "timeout",
        ],
    ),
    (
        "pushover",
        &[
            "send_resolved",
            "http_config",
            "user_key",
            "user_key_file",
            "token",
            "token_file",
            "title",
            "message",
            "url",
            "url_title",
            "device",
            "sound",
            "priority",
            "retry",
            "expire",
            "ttl",
            "html",
            "monospace",
        ],
    ),
    (
        "rocketchat",
        &[
            "send_resolved",
            "http_config",
            "api_url",
            "token_id",
            "token_id_file",
            "token",
            "token_file",
            "channel",
            "color",
            "title",
            "title_link",
            "text",
            "fields",
            "short_fields",
            "emoji",
            "icon_url",
            "image_url",
            "thumb_url",
            "link_names",
            "actions",
        ],
    ),
    (
        "slack",
        &[
            "send_resolved",
            "http_config",
            "api_url",
            "api_url_file",
            "app_token",
            "app_token_file",
            "app_url",
            "channel",
            "username",
            "color",
            "title",
            "title_link",
            "pretext",
            "text",
            "message_text",
            "fields",
            "short_fields",
            "footer",
            "fallback",
            "callback_id",
            "icon_emoji",
            "icon_url",
            "image_url",
            "thumb_url",
            "link_names",
            "mrkdwn_in",
            "actions",
            "update_message",
            "timeout",
        ],
    ),
    (
        "sns",
        &[
            "send_resolved",
            "http_config",
            "api_url",
            "sigv4",
            "topic_arn",
            "phone_number",
            "target_arn",
            "subject",
            "message",
            "attributes",
            "use_aws_http_client",
        ],
    ),
    (
        "telegram",
        &[
            "send_resolved",
            "http_config",
            "api_url",
            "bot_token",
            "bot_token_file",
            "chat_id",
            "chat_id_file",
            "message_thread_id",
            "message",
            "disable_notifications",
            "parse_mode",
        ],
    ),
    (
        "victorops",
        &[
            "send_resolved",
            "http_config",
            "api_key",
            "api_key_file",
            "api_url",
            "routing_key",
            "message_type",
            "state_message",
            "entity_display_name",
            "monitoring_tool",
            "custom_fields",
        ],
    ),
    ("webex", &["send_resolved", "http_config", "api_url", "message", "room_id"]),
    ("webhook", &["send_resolved", "http_config", "url", "url_file", "max_alerts", "timeout", "payload"]),
    (
        "wechat",
        &[
            "send_resolved",
            "http_config",
            "api_secret",
            "api_secret_file",
            "corp_id",
            "message",
            "api_url",
            "to_user",
            "to_party",
            "to_tag",
            "agent_id",
            "message_type",
        ],
    ),
];

/// Refuses fields integration `kind` does not take, a secret given both inline and as a file
/// (`api_url` and `api_url_file`), and what Alertmanager refuses of an SNS target.
fn check_fields(kind: &str, config: &Value, path: &str, problems: &mut Vec<Problem>) {
    let Some(map) = config.as_object() else { return };
    let known = FIELDS.iter().find(|(k, _)| *k == kind).map_or(&[][..], |(_, f)| *f);
    for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
        problems.push(
            Problem::error(format!("{path}.{key}"), format!("field {key} not found in type config.{kind}"))
                .with_hint(crate::diagnostic::did_you_mean(key, known.iter().copied())),
        );
    }
    let set = |k: &str| map.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
    for file_key in known.iter().filter(|k| k.ends_with("_file")) {
        let inline = file_key.trim_end_matches("_file");
        if set(inline) && set(file_key) {
            problems.push(Problem::error(
                format!("{path}.{file_key}"),
                format!("at most one of {inline} & {file_key} must be configured"),
            ));
        }
    }
    // Alertmanager's own test, `(target == "") != (topic == "") != (phone == "")`: an odd number
    // of them empty (none given, or two of them) is refused.
    let empty = ["target_arn", "topic_arn", "phone_number"].iter().filter(|k| !set(k)).count();
    if kind == "sns" && empty % 2 == 1 {
        problems.push(Problem::error(
            path.to_string(),
            "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
        ));
    }
}

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
                check_fields(kind, config, &p, problems);
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
