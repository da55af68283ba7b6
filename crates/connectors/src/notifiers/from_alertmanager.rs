//! Alertmanager's receivers as vigil's notifiers: each integration of a receiver
//! (`webhook_configs[0]`, `pagerduty_configs[1]`, ...) becomes the notifier
//! `<receiver>/<kind>/<index>`, its fields read as Alertmanager reads them, with the `global`
//! defaults (`slack_api_url`, `smtp_smarthost`, ...) and `*_file` fields read from their files.

use serde_json::{Value, json};
use vigil_core::alertmanager::config::{AmConfig, Integration};

use super::NotifierConfig;

/// The kinds vigil sends to (the others are refused by name).
pub const SUPPORTED: [&str; 13] = [
    "webhook",
    "slack",
    "pagerduty",
    "opsgenie",
    "email",
    "msteams",
    "msteamsv2",
    "discord",
    "telegram",
    "mattermost",
    "rocketchat",
    "pushover",
    "victorops",
];

/// Every integration of `config` as a notifier, or the first that cannot be one: its field path
/// and why.
pub fn notifiers(config: &AmConfig) -> Result<Vec<NotifierConfig>, (String, String)> {
    let mut out = Vec::new();
    for receiver in &config.receivers {
        for i in &receiver.integrations {
            out.push(notifier(&receiver.name, i, &config.global).map_err(|e| (i.path.clone(), e))?);
        }
    }
    Ok(out)
}

/// Integration `i` of `receiver` as a notifier.
pub fn notifier(receiver: &str, i: &Integration, global: &Value) -> Result<NotifierConfig, String> {
    let (kind, body) = document(&i.name(receiver), i, global)?;
    match NotifierConfig::read(kind, body) {
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(format!("{}: {}", e.path, e.message)),
        None => Err(format!("no notifier type {kind}")),
    }
}

/// Integration `i` as the document of a vigil notifier named `name`: its `type` and its fields
/// (`name` included, `type` not).
pub fn document(name: &str, i: &Integration, global: &Value) -> Result<(&'static str, Value), String> {
    let c = &i.config;
    let read = |key: &str| value_or_file(c, key, "");
    let global_str = |key: &str| global.get(key).and_then(Value::as_str).map(str::to_string);
    // A global secret, or the file holding it (`slack_api_url_file`, ...), as Alertmanager reads it.
    let global_secret = |key: &str| global_secret(global, key);
    let need = |v: Option<String>, what: &str| v.ok_or_else(|| format!("{what} is missing"));
    Ok(match i.kind.as_str() {
        "webhook" => {
            let url = need(read("url")?, "`url`")?;
            let max = c.get("max_alerts").and_then(Value::as_u64).unwrap_or(0);
            ("webhook", json!({"name": name, "url": url, "format": "alertmanager", "max_alerts": max}))
        }
        "slack" => {
            let url = need(
                read("api_url")?.map_or_else(|| global_secret("slack_api_url"), |v| Ok(Some(v)))?,
                "`api_url` (or global `slack_api_url`)",
            )?;
            ("slack", json!({"name": name, "url": url}))
        }
        "pagerduty" => {
            let key = need(read("routing_key")?.or(read("service_key")?), "`routing_key`")?;
            let url = c.get("url").and_then(Value::as_str).map(str::to_string).or_else(|| global_str("pagerduty_url"));
            let url = url.unwrap_or_else(|| super::pagerduty::DEFAULT_URL.to_string());
            // Alertmanager's global URL is the API's base; vigil's is the Events v2 endpoint.
            let url = if url.ends_with("/enqueue") { url } else { format!("{}/v2/enqueue", url.trim_end_matches('/')) };
            ("pagerduty", json!({"name": name, "routing_key": key, "url": url}))
        }
        "opsgenie" => {
            let key = need(
                read("api_key")?.map_or_else(|| global_secret("opsgenie_api_key"), |v| Ok(Some(v)))?,
                "`api_key` (or global `opsgenie_api_key`)",
            )?;
            let url =
                c.get("api_url").and_then(Value::as_str).map(str::to_string).or_else(|| global_str("opsgenie_api_url"));
            let url = url.unwrap_or_else(|| super::opsgenie::DEFAULT_URL.to_string());
            ("opsgenie", json!({"name": name, "api_key": key, "url": url.trim_end_matches('/')}))
        }
        "email" => email(name, c, global, &read)?,
        "msteams" | "msteamsv2" => {
            let url = need(read("webhook_url")?, "`webhook_url`")?;
            ("teams", json!({"name": name, "url": url}))
        }
        "discord" => ("discord", json!({"name": name, "url": need(read("webhook_url")?, "`webhook_url`")?})),
        "telegram" => {
            let token = need(
                read("bot_token")?.map_or_else(|| global_secret("telegram_bot_token"), |v| Ok(Some(v)))?,
                "`bot_token` (or global `telegram_bot_token`)",
            )?;
            let chat = match c.get("chat_id") {
                Some(Value::Number(n)) => n.to_string(),
                _ => need(read("chat_id")?, "`chat_id`")?,
            };
            let api =
                c.get("api_url").and_then(Value::as_str).map(str::to_string).or_else(|| global_str("telegram_api_url"));
            let mut body = json!({"name": name, "bot_token": token, "chat_id": chat,
                "api_url": api.unwrap_or_else(|| super::telegram::DEFAULT_API_URL.into())});
            if let Some(thread) = c.get("message_thread_id").and_then(Value::as_i64) {
                body["message_thread_id"] = json!(thread);
            }
            ("telegram", body)
        }
        "mattermost" => {
            let url = need(
                read("webhook_url")?.or_else(|| global_str("mattermost_webhook_url")),
                "`webhook_url` (or global `mattermost_webhook_url`)",
            )?;
            let mut body = json!({"name": name, "url": url});
            for field in ["channel", "username"] {
                if let Some(v) = c.get(field).and_then(Value::as_str) {
                    body[field] = json!(v);
                }
            }
            ("mattermost", body)
        }
        "rocketchat" => {
            let pick = |key: &str| -> Result<Option<String>, String> {
                Ok(read(key)?.or_else(|| global_str(&format!("rocketchat_{key}"))))
            };
            let url = c
                .get("api_url")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| global_str("rocketchat_api_url"));
            let token = need(pick("token")?, "`token` (or global `rocketchat_token`)")?;
            let user = need(pick("token_id")?, "`token_id` (or global `rocketchat_token_id`)")?;
            let channel = need(read("channel")?, "`channel`")?;
            let url = url.unwrap_or_else(|| "https://open.rocket.chat/".into());
            ("rocketchat", json!({"name": name, "url": url, "token": token, "user_id": user, "channel": channel}))
        }
        "pushover" => {
            let token = need(read("token")?, "`token`")?;
            let user = need(read("user_key")?, "`user_key`")?;
            let mut body = json!({"name": name, "token": token, "user": user});
            for field in ["device", "sound"] {
                if let Some(v) = c.get(field).and_then(Value::as_str) {
                    body[field] = json!(v);
                }
            }
            // Alertmanager's default priority makes a firing alert an emergency; so does any
            // priority template that can give 2 (vigil sends emergencies for critical alerts).
            let priority = c
                .get("priority")
                .and_then(Value::as_str)
                .unwrap_or("{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}");
            if priority.replace("-2", "").contains('2') {
                body["emergency"] = json!(true);
                for (field, default) in [("retry", 60), ("expire", 3600)] {
                    let secs = match c.get(field).and_then(Value::as_str) {
                        Some(d) => vigil_core::alertmanager::config::duration::parse(d)
                            .map(|ms| ms / 1000)
                            .map_err(|e| format!("`{field}`: {e}"))?,
                        None => default,
                    };
                    body[field] = json!(secs);
                }
            }
            ("pushover", body)
        }
        "victorops" => {
            let key = need(
                read("api_key")?.map_or_else(|| global_secret("victorops_api_key"), |v| Ok(Some(v)))?,
                "`api_key` (or global `victorops_api_key`)",
            )?;
            let routing = need(read("routing_key")?, "`routing_key`")?;
            let url = c
                .get("api_url")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or_else(|| global_str("victorops_api_url"));
            let url = url.unwrap_or_else(|| super::splunk_oncall::DEFAULT_URL.into());
            (
                "splunk_oncall",
                json!({"name": name, "api_key": key, "routing_key": routing, "url": url.trim_end_matches('/')}),
            )
        }
        other => {
            let receiver = name.split('/').next().unwrap_or(name);
            return Err(format!(
                "receiver `{receiver}`: vigil does not send to {other} yet; route it to a `webhook_configs` entry that \
                 forwards to {other}, or to one vigil sends to ({})",
                SUPPORTED.join(", ")
            ));
        }
    })
}

type Reader<'a> = dyn Fn(&str) -> Result<Option<String>, String> + 'a;

/// Global setting `key`, or the file its `{key}_file` names, read (trimmed); `Err` when that file
/// cannot be read.
fn global_secret(global: &Value, key: &str) -> Result<Option<String>, String> {
    value_or_file(global, key, "global ")
}

/// Field `key` of `fields`, or the file its `{key}_file` names, read and trimmed, as Alertmanager
/// reads its secrets; `Err` (naming `{at}` and the field) when that file cannot be read.
fn value_or_file(fields: &Value, key: &str, at: &str) -> Result<Option<String>, String> {
    if let Some(v) = fields.get(key).and_then(Value::as_str).filter(|v| !v.is_empty()) {
        return Ok(Some(v.to_string()));
    }
    match fields.get(format!("{key}_file").as_str()).and_then(Value::as_str) {
        Some(path) => std::fs::read_to_string(path)
            .map(|s| Some(s.trim().to_string()))
            .map_err(|e| format!("{at}`{key}_file`: cannot read {path}: {e}")),
        None => Ok(None),
    }
}

fn email(name: &str, c: &Value, global: &Value, read: &Reader) -> Result<(&'static str, Value), String> {
    let pick = |key: &str, global_key: &str| -> Result<Option<String>, String> {
        Ok(read(key)?.or_else(|| global.get(global_key).and_then(Value::as_str).map(str::to_string)))
    };
    let smarthost =
        pick("smarthost", "smtp_smarthost")?.ok_or("`smarthost` (or global `smtp_smarthost`) is missing")?;
    let (host, port) = match smarthost.rsplit_once(':') {
        Some((h, p)) => {
            (h.to_string(), p.parse::<u16>().map_err(|_| format!("`smarthost`: {smarthost:?} has no valid port"))?)
        }
        None => (smarthost.clone(), 25),
    };
    let from = pick("from", "smtp_from")?.ok_or("`from` (or global `smtp_from`) is missing")?;
    let to: Vec<String> = read("to")?
        .ok_or("`to` is missing")?
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let require_tls = c
        .get("require_tls")
        .and_then(Value::as_bool)
        .or_else(|| global.get("smtp_require_tls").and_then(Value::as_bool))
        .unwrap_or(true);
    let tls = match (port, require_tls) {
        (465, _) => "tls",
        (_, true) => "starttls",
        (_, false) => "none",
    };
    let mut body = json!({"name": name, "host": host, "port": port, "from": from, "to": to, "tls": tls});
    if let Some(user) = pick("auth_username", "smtp_auth_username")? {
        body["username"] = json!(user);
    }
    if let Some(password) =
        read("auth_password")?.map_or_else(|| global_secret(global, "smtp_auth_password"), |v| Ok(Some(v)))?
    {
        body["password"] = json!(password);
    }
    Ok(("email", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_become_notifiers_with_global_defaults() {
        let config = vigil_core::alertmanager::config::parse(
            r#"
global: {smtp_smarthost: 'mail:587', smtp_from: 'am@example.org', slack_api_url: 'http://slack/hook'}
route: {receiver: team}
receivers:
- name: team
  webhook_configs: [{url: 'http://hook/am', max_alerts: 5}]
  email_configs: [{to: 'a@example.org, b@example.org'}]
  slack_configs: [{channel: '#ops'}]
  pagerduty_configs: [{routing_key: 'rk'}]
  opsgenie_configs: [{api_key: 'k', api_url: 'http://og/'}]
"#,
        )
        .unwrap();
        let made = notifiers(&config).unwrap();
        let names: Vec<&str> = made.iter().map(|n| n.name()).collect();
        assert_eq!(names, ["team/email/0", "team/opsgenie/0", "team/pagerduty/0", "team/slack/0", "team/webhook/0"]);
        match &made[0] {
            NotifierConfig::Email(e) => {
                assert_eq!((e.host.as_str(), e.port, e.from.as_str()), ("mail", Some(587), "am@example.org"));
                assert_eq!(e.to, ["a@example.org", "b@example.org"]);
            }
            other => panic!("{other:?}"),
        }
        match &made[4] {
            NotifierConfig::Webhook(w) => {
                assert_eq!((w.format, w.max_alerts), (super::super::webhook::WebhookFormat::Alertmanager, 5))
            }
            other => panic!("{other:?}"),
        }
        let unsupported = vigil_core::alertmanager::config::parse(
            "route: {receiver: t}\nreceivers: [{name: t, sns_configs: [{topic_arn: 'arn:aws:sns:x'}]}]",
        )
        .unwrap();
        let (path, message) = notifiers(&unsupported).unwrap_err();
        assert_eq!(path, "receivers[0].sns_configs[0]");
        assert!(message.starts_with("receiver `t`: vigil does not send to sns yet"), "{message}");
    }

    #[test]
    fn chat_push_and_paging_receivers_become_their_channels() {
        let config = vigil_core::alertmanager::config::parse(
            r#"
global: {telegram_bot_token: '123:ABC', victorops_api_key: 'vo-key'}
route: {receiver: team}
receivers:
- name: team
  discord_configs: [{webhook_url: 'https://discord.com/api/webhooks/1/t'}]
  telegram_configs: [{chat_id: -1001, message_thread_id: 4}]
  mattermost_configs: [{webhook_url: 'https://mm/hooks/x', channel: ops}]
  rocketchat_configs: [{api_url: 'https://rc', token: 't', token_id: 'u', channel: '#ops'}]
  pushover_configs: [{user_key: 'u', token: 't', retry: 2m, expire: 2h}]
  victorops_configs: [{routing_key: 'team-a'}]
"#,
        )
        .unwrap();
        let made = notifiers(&config).unwrap();
        let kinds: Vec<(&str, &str)> = made.iter().map(|n| (n.name(), n.type_name())).collect();
        assert_eq!(
            kinds,
            [
                ("team/discord/0", "discord"),
                ("team/mattermost/0", "mattermost"),
                ("team/pushover/0", "pushover"),
                ("team/rocketchat/0", "rocketchat"),
                ("team/telegram/0", "telegram"),
                ("team/victorops/0", "splunk_oncall"),
            ]
        );
        match &made[2] {
            NotifierConfig::Pushover(p) => assert_eq!((p.emergency, p.retry, p.expire), (true, 120, 7200)),
            other => panic!("{other:?}"),
        }
        match &made[4] {
            NotifierConfig::Telegram(t) => {
                assert_eq!(
                    (t.bot_token.as_str(), t.chat_id.as_str(), t.message_thread_id),
                    ("123:ABC", "-1001", Some(4))
                )
            }
            other => panic!("{other:?}"),
        }
        match &made[5] {
            NotifierConfig::SplunkOncall(s) => {
                assert_eq!((s.api_key.as_str(), s.routing_key.as_str()), ("vo-key", "team-a"))
            }
            other => panic!("{other:?}"),
        }
    }
}
