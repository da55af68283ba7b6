//! Alertmanager's configuration file (`alertmanager.yml`), read as Alertmanager reads it: the
//! routing tree, receivers, inhibition rules and time intervals, with its checks (every receiver
//! and interval a route names exists, the root route matches everything) and every problem at its
//! field path, for the caller to locate in the file.

pub mod check;
pub mod duration;
pub mod inhibit;
mod read;
pub mod receiver;
pub mod route;
pub mod shown;
pub mod time_interval;

use serde_json::Value;

use crate::diagnostic::Problem;
use crate::time::Millis;
use read::Fields;

pub use inhibit::InhibitRule;
pub use receiver::{Integration, Receiver};
pub use route::{GroupBy, Route, Timing};
pub use time_interval::{NamedInterval, TimeInterval};

/// The `global` fields Alertmanager knows.
const GLOBAL_FIELDS: [&str; 50] = [
    "resolve_timeout",
    "http_config",
    "jira_api_url",
    "smtp_from",
    "smtp_hello",
    "smtp_smarthost",
    "smtp_auth_username",
    "smtp_auth_password",
    "smtp_auth_password_file",
    "smtp_auth_secret",
    "smtp_auth_secret_file",
    "smtp_auth_identity",
    "smtp_require_tls",
    "smtp_tls_config",
    "smtp_force_implicit_tls",
    "slack_api_url",
    "slack_api_url_file",
    "slack_app_token",
    "slack_app_token_file",
    "slack_app_url",
    "pagerduty_url",
    "opsgenie_api_url",
    "opsgenie_api_key",
    "opsgenie_api_key_file",
    "wechat_api_url",
    "wechat_api_secret",
    "wechat_api_secret_file",
    "wechat_api_corp_id",
    "victorops_api_url",
    "victorops_api_key",
    "victorops_api_key_file",
    "telegram_api_url",
    "telegram_bot_token",
    "telegram_bot_token_file",
    "webex_api_url",
    "rocketchat_api_url",
    "rocketchat_token",
    "rocketchat_token_file",
    "rocketchat_token_id",
    "rocketchat_token_id_file",
    "mattermost_webhook_url",
    "mattermost_webhook_url_file",
    "incidentio_url",
    "discord_webhook_url",
    "msteams_webhook_url",
    "pushover_url",
    "sns_api_url",
    "webhook_url",
    "smtp_auth_mechanism",
    "http_config_file",
];

/// A whole configuration.
#[derive(Debug, Clone, Default)]
pub struct AmConfig {
    /// The routing tree.
    pub route: Route,
    /// The receivers.
    pub receivers: Vec<Receiver>,
    /// The inhibition rules.
    pub inhibit_rules: Vec<InhibitRule>,
    /// The named time intervals (`time_intervals` and the older `mute_time_intervals`).
    pub time_intervals: Vec<NamedInterval>,
    /// How long an alert pushed without `endsAt` stays firing without another push.
    pub resolve_timeout: Millis,
    /// `global` as written (the receivers' defaults).
    pub global: Value,
    /// Template file globs as written.
    pub templates: Vec<String>,
    /// The template files they matched, (path, text), as the node that read the configuration
    /// found them: published with it (key [`TEMPLATE_TEXTS`]), so every node has them.
    pub template_texts: Vec<(String, String)>,
}

/// The key under which a published configuration carries its template files' texts.
pub const TEMPLATE_TEXTS: &str = "vigil_template_texts";

impl AmConfig {
    /// Receiver `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// Time interval `name`.
    pub fn interval(&self, name: &str) -> Option<&NamedInterval> {
        self.time_intervals.iter().find(|t| t.name == name)
    }

    /// Whether notifications of `route` are muted at `at` by its mute or active time intervals.
    pub fn muted_by_time(&self, route: &Route, at: Millis) -> bool {
        let any = |names: &[String]| names.iter().filter_map(|n| self.interval(n)).any(|i| i.contains(at));
        any(&route.mute_time_intervals)
            || (!route.active_time_intervals.is_empty() && !any(&route.active_time_intervals))
    }

    /// When, after `at`, whether `route` is muted by time may change next.
    pub fn next_time_change(&self, route: &Route, at: Millis) -> Option<Millis> {
        route
            .mute_time_intervals
            .iter()
            .chain(&route.active_time_intervals)
            .filter_map(|n| self.interval(n)?.next_change(at))
            .min()
    }
}

/// Whether `value` (a parsed YAML document) reads as an Alertmanager configuration: a mapping
/// with `route` or `receivers` and nothing of vigil's definitions.
pub fn looks_like(value: &Value) -> bool {
    value.get("route").is_some_and(Value::is_object) || value.get("receivers").is_some_and(Value::is_array)
}

/// Reads the YAML `text`: the configuration, or every problem found.
pub fn parse(text: &str) -> Result<AmConfig, Vec<Problem>> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| vec![Problem::error("", e.to_string())])?;
    let (config, problems) = read(&value);
    if problems.iter().any(Problem::is_error) { Err(problems) } else { Ok(config) }
}

/// Reads a configuration already parsed; problems come back beside what could be read.
pub fn read(value: &Value) -> (AmConfig, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut f = Fields::of(value, "", &mut problems);
    let mut config = AmConfig { resolve_timeout: 5 * 60_000, ..AmConfig::default() };
    if let Some(global) = f.keep("global") {
        let mut g = Fields::of(global, "global", &mut problems);
        for key in GLOBAL_FIELDS {
            let _ = g.keep(key);
        }
        if let Some(ms) = g.duration("resolve_timeout", &mut problems) {
            config.resolve_timeout = ms;
        }
        g.finish(&mut problems);
        let set = |k: &str| global.get(k).is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        for key in
            ["slack_api_url", "opsgenie_api_key", "victorops_api_key", "smtp_auth_password", "telegram_bot_token"]
        {
            let file = format!("{key}_file");
            if set(key) && set(&file) {
                problems.push(Problem::error(
                    format!("global.{file}"),
                    format!("at most one of {key} & {file} must be configured"),
                ));
            }
        }
        config.global = global.clone();
    }
    config.templates = f.strings("templates", &mut problems).into_iter().map(|(_, s)| s).collect();
    let receivers = f.list("receivers", &mut problems);
    config.receivers = receiver::read(receivers, &mut problems);
    let rules = f.list("inhibit_rules", &mut problems);
    config.inhibit_rules = inhibit::read(rules, &mut problems);
    let mut named = time_interval::read_named(f.list("time_intervals", &mut problems), &mut problems);
    named.extend(time_interval::read_named(f.list("mute_time_intervals", &mut problems), &mut problems));
    for (i, (path, interval)) in named.iter().enumerate() {
        if !interval.name.is_empty() && named[..i].iter().any(|(_, o)| o.name == interval.name) {
            problems.push(Problem::error(
                format!("{path}.name"),
                format!("time interval {:?} is not unique", interval.name),
            ));
        }
    }
    config.time_intervals = named.into_iter().map(|(_, n)| n).collect();
    for ignored in ["tracing", "event_recorder"] {
        let _ = f.keep(ignored);
    }
    if let Some(Value::Object(texts)) = f.keep(TEMPLATE_TEXTS) {
        config.template_texts =
            texts.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect();
    }
    match f.get("route") {
        None => problems.push(Problem::error("route", "no routes provided")),
        Some(root) => {
            config.route = route::read(root, "route", None, 0, &mut problems);
            check_root(root, &config.route, &mut problems);
        }
    }
    f.finish(&mut problems);
    check_references(&config, &mut problems);
    (config, problems)
}

fn check_root(value: &Value, root: &Route, problems: &mut Vec<Problem>) {
    if root.receiver.is_empty() {
        problems.push(Problem::error("route.receiver", "root route must specify a default receiver"));
    }
    let has = |k: &str| value.get(k).is_some_and(|v| !v.is_null());
    if !root.matchers.is_empty() || has("match") || has("match_re") || has("matchers") {
        problems.push(Problem::error("route", "root route must not have any matchers"));
    }
    if root.continue_matching {
        problems.push(Problem::error("route.continue", "cannot have continue in root route"));
    }
    if !root.mute_time_intervals.is_empty() {
        problems.push(Problem::error("route.mute_time_intervals", "root route must not have any mute time intervals"));
    }
    if !root.active_time_intervals.is_empty() {
        problems
            .push(Problem::error("route.active_time_intervals", "root route must not have any active time intervals"));
    }
}

fn check_references(config: &AmConfig, problems: &mut Vec<Problem>) {
    for route in config.route.walk() {
        if !route.receiver.is_empty() && config.receiver(&route.receiver).is_none() {
            let names = config.receivers.iter().map(|r| r.name.as_str());
            problems.push(
                Problem::error(
                    format!("{}.receiver", route.path),
                    format!("undefined receiver {:?} used in route", route.receiver),
                )
                .with_hint(crate::diagnostic::did_you_mean(&route.receiver, names)),
            );
        }
        for (field, names) in [
            ("mute_time_intervals", &route.mute_time_intervals),
            ("active_time_intervals", &route.active_time_intervals),
        ] {
            for (i, name) in names.iter().enumerate() {
                if config.interval(name).is_none() {
                    problems.push(Problem::error(
                        format!("{}.{field}[{i}]", route.path),
                        format!("undefined time interval {name:?} used in route"),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
