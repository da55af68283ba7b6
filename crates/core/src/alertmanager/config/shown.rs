//! The configuration as `GET /api/v2/status` shows it (`config.original`, which `amtool config
//! show` prints and `amtool config routes` reads): what was loaded, with every secret replaced by
//! `<secret>` as Alertmanager shows its `Secret` fields, and vigil's own keys left out.

use serde_json::Value;

/// Keys whose values are secrets wherever they appear (global, receivers, `http_config`).
const SECRETS: [&str; 25] = [
    "smtp_auth_password",
    "smtp_auth_secret",
    "slack_api_url",
    "opsgenie_api_key",
    "victorops_api_key",
    "wechat_api_secret",
    "telegram_bot_token",
    "auth_password",
    "auth_secret",
    "api_key",
    "routing_key",
    "service_key",
    "user_key",
    "token",
    "token_id",
    "bot_token",
    "api_secret",
    "webhook_url",
    "alert_source_token",
    "app_token",
    "password",
    "bearer_token",
    "credentials",
    "client_secret",
    "secret_key",
];

/// Keys that are secrets in integrations of these kinds only (a Slack or webhook URL carries its
/// token; an OpsGenie `api_url` does not).
const SECRET_URLS: [(&str, &str); 3] =
    [("slack_configs", "api_url"), ("webhook_configs", "url"), ("incidentio_configs", "url")];

/// `text` (a loaded configuration) as shown: JSON, which YAML readers (amtool's among them)
/// read as YAML, pretty-printed; `None` when it does not parse.
pub fn shown(text: &str) -> Option<String> {
    let mut value: Value = serde_saphyr::from_str(text).ok()?;
    if let Value::Object(map) = &mut value {
        map.remove(super::TEMPLATE_TEXTS);
    }
    mask(&mut value, None);
    serde_json::to_string_pretty(&value).ok()
}

fn mask(value: &mut Value, list: Option<&str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let url = list.is_some_and(|l| SECRET_URLS.iter().any(|(k, f)| *k == l && f == key));
                if (SECRETS.contains(&key.as_str()) || url) && !v.is_null() && !v.is_object() {
                    *v = Value::String("<secret>".into());
                } else {
                    let inner = if key.ends_with("_configs") { Some(key.as_str()) } else { list };
                    mask(v, inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask(v, list)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_shown_as_alertmanager_shows_them() {
        let text = "global: {slack_api_url: 'https://hooks.slack.com/T/B/x', opsgenie_api_url: 'https://og/'}\n\
            route: {receiver: a}\nreceivers:\n- name: a\n  webhook_configs: [{url: 'https://h/?token=t1'}]\n  \
            pagerduty_configs: [{routing_key: rk1, http_config: {authorization: {credentials: c1}}}]\n  \
            opsgenie_configs: [{api_key: k1, api_url: 'https://og/'}]\nvigil_template_texts: {a: b}\n";
        let shown = shown(text).unwrap();
        for secret in ["T/B/x", "token=t1", "rk1", "c1", "k1", "vigil_template_texts"] {
            assert!(!shown.contains(secret), "{secret}: {shown}");
        }
        assert!(shown.contains("https://og/") && shown.contains("<secret>"), "{shown}");
        let again: Value = serde_saphyr::from_str(&shown).unwrap();
        assert_eq!(again["route"]["receiver"], "a", "YAML readers read it");
    }
}
