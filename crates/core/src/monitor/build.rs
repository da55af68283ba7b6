//! Checks a monitor document and builds a [`MonitorDef`], reporting every problem with its field
//! path (the loader turns paths into file, line and column).

use crate::source_kind::SourceKind;
use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{Cadence, MissingSeries, MonitorDef, NoData, OnError, SourceSpec, Threshold};
use crate::alert::Tier;
use crate::def::build::{Unknown, check_keys};
use crate::diagnostic::{Problem, Severity, did_you_mean};
use crate::slim::SlimList;
use crate::time::parse_duration;

/// The monitor fields.
pub const SUPPORTED: &[&str] = &[
    "name",
    "description",
    "labels",
    "every",
    "cron",
    "zone",
    "source",
    "heartbeat",
    "value",
    "warning",
    "critical",
    "noData",
    "onError",
    "missingSeries",
    "for",
    "fireAfter",
    "resolveAfter",
    "repeatInterval",
    "sendResolved",
    "flapThreshold",
    "flapWindow",
    "dedupKey",
    "summary",
    "notify",
    "dependsOn",
    "paused",
    "publicBadge",
    "retention",
    "tests",
    "maintenance",
];

/// Roots a summary or dedup key template may name.
const TEMPLATE_ROOTS: &[&str] = &["value", "tier", "monitor", "labels", "error"];

impl MonitorDef {
    /// Checks a monitor document.
    pub fn build(doc: &Value) -> (Option<MonitorDef>, Vec<Problem>) {
        let mut problems = Vec::new();
        let Some(obj) = doc.as_object() else {
            return (None, vec![Problem::error("", "a monitor must be an object")]);
        };
        check_keys(obj, "", (SUPPORTED, &[]), "monitor", Unknown::Refused, &mut problems);
        let name = match obj.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => {
                if let Some(why) = crate::def::name_problem(n) {
                    problems.push(Problem::error("name", format!("monitor name `{n}` {why}")));
                }
                n.clone()
            }
            _ => {
                problems.push(Problem::error("name", "a monitor needs a `name`"));
                String::new()
            }
        };
        let labels = string_map(obj, "labels", &mut problems);
        let cadence = cadence(obj, &name, &mut problems);
        let heartbeat_block = obj.get("heartbeat").filter(|v| !v.is_null());
        let source = match heartbeat_block {
            Some(block) => {
                if has(obj, "source") {
                    problems.push(Problem::error("source", "a heartbeat monitor is pinged; it has no `source`"));
                }
                Some(SourceSpec::new(SourceKind::Heartbeat, block.clone()))
            }
            None => source(obj, &mut problems).map(|mut spec| {
                // An email's times are in the monitor's `zone` unless its block names one.
                if spec.kind == SourceKind::Email
                    && let (Some(zone @ Value::String(_)), Value::Object(block)) = (obj.get("zone"), spec.config_mut())
                {
                    block.entry("zone").or_insert_with(|| zone.clone());
                }
                spec
            }),
        };
        let value = match obj.get("value") {
            None | Some(Value::Null) => None,
            Some(Value::String(v)) if !v.trim().is_empty() => Some(v.clone()),
            Some(_) => {
                problems
                    .push(Problem::error("value", "`value` names the field to compare, e.g. `last` or `data.ratio`"));
                None
            }
        };
        let warning = threshold(obj, "warning", &mut problems);
        let critical = threshold(obj, "critical", &mut problems);
        if let (Some(w), Some(c)) = (warning, critical)
            && let Some(why) = crate::monitor::threshold::shadowed(w, c)
        {
            problems.push(Problem::warning("warning", why));
        }
        // A Prometheus alerting expression (`firing:`) judges its series itself too.
        let alerting_expression = source
            .as_ref()
            .is_some_and(|s| s.kind == SourceKind::Prometheus && s.config.get("firing").is_some_and(|f| !f.is_null()));
        let reads_tiers_itself = source.as_ref().is_some_and(|s| s.kind.sets_tiers()) || alerting_expression;
        if warning.is_none()
            && critical.is_none()
            && !reads_tiers_itself
            && !has(obj, "warning")
            && !has(obj, "critical")
        {
            problems.push(Problem::error(
                "",
                "a monitor needs a threshold: `warning`, `critical` or both, e.g. `critical: \"> 95\"`",
            ));
        }
        let no_data = match tier_or(obj, "noData", &["keep"], &mut problems) {
            Some(Ok(t)) => NoData::Tier(t),
            Some(Err(_)) => NoData::Keep,
            None => NoData::Tier(Tier::Warning),
        };
        let on_error = match tier_or(obj, "onError", &["keep"], &mut problems) {
            Some(Ok(t)) => OnError::Tier(t),
            _ => OnError::Keep,
        };
        let missing_series = match obj.get("missingSeries") {
            None | Some(Value::Null) => MissingSeries::Resolve,
            Some(Value::String(s)) if s == "resolve" => MissingSeries::Resolve,
            Some(Value::String(s)) if s == "keep" => MissingSeries::Keep,
            Some(Value::String(s)) if s == "nodata" || s == "noData" => MissingSeries::NoData,
            Some(other) => {
                problems.push(Problem::error(
                    "missingSeries",
                    format!("`missingSeries` is `resolve`, `keep` or `nodata`, got {other}"),
                ));
                MissingSeries::Resolve
            }
        };
        for (field, message) in crate::alert::rule_problems(obj) {
            problems.push(Problem::error(field, message));
        }
        let rule = crate::alert::rule_from(obj).unwrap_or_default();
        let dedup_key = template(obj, "dedupKey", &mut problems);
        // The defaults name the monitor through `${monitor}`: one text shared by every monitor,
        // not a copy with its name in each.
        let summary = match template(obj, "summary", &mut problems) {
            Some(written) => Cow::Owned(written),
            None if heartbeat_block.is_some() => Cow::Borrowed("${monitor}: ${error}"),
            None if warning.is_some() || critical.is_some() => Cow::Borrowed("${monitor} is ${tier} at ${value}"),
            None => Cow::Borrowed("${monitor} is ${tier}"),
        };
        let notify = notify(obj, &mut problems);
        let depends_on = depends_on(obj, &name, &mut problems);
        let paused = flag(obj, "paused", &mut problems);
        let public_badge = flag(obj, "publicBadge", &mut problems);
        let tests = match obj.get("tests") {
            None | Some(Value::Null) => Vec::new(),
            Some(block) => super::testing::parse(block, value.as_deref(), &mut problems),
        };
        // Every field is checked, whatever failed before it, so one run reports every problem.
        let expected = cadence.clone().unwrap_or(Cadence::Every { ms: 60_000, offset: 0 });
        let heartbeat = heartbeat_block.map(|block| heartbeat(block, &expected, &mut problems));
        let retention = crate::retention::from_definition(obj, crate::retention::Owner::Monitor, &mut problems);
        let maintenance = maintenance(obj, &mut problems);
        let (Some(cadence), Some(source)) = (cadence, source) else { return (None, problems) };
        if problems.iter().any(|p| p.severity == Severity::Error) {
            return (None, problems);
        }
        let def = MonitorDef {
            name,
            labels,
            cadence,
            source,
            value: value.map(String::into_boxed_str),
            warning,
            critical,
            no_data,
            on_error,
            missing_series,
            rule,
            dedup_key: dedup_key.map(String::into_boxed_str),
            summary,
            notify,
            depends_on: depends_on.into(),
            ancestors: SlimList::new(),
            paused,
            public_badge,
            // Boxed: most monitors have neither, and each is larger than the rest of a field.
            rare: (retention.is_some() || !tests.is_empty() || !maintenance.is_empty())
                .then(|| Box::new(super::Rare { retention, tests, maintenance })),
            heartbeat: heartbeat.map(Box::new),
        };
        (Some(def), problems)
    }
}

/// `maintenance`: the monitor's own windows, one-off or recurring (a status page's form, without
/// `components`: the window is the monitor's).
fn maintenance(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> Vec<crate::status_page::Maintenance> {
    let items = match obj.get("maintenance") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(Problem::error("maintenance", "`maintenance` is a list of windows"));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("maintenance[{i}].");
        match <crate::status_page::Maintenance as serde::Deserialize>::deserialize(item) {
            Ok(window) if !window.components.is_empty() => problems.push(Problem::error(
                format!("{at}components"),
                "a monitor's window holds the monitor: `components` belong to a status page's windows",
            )),
            Ok(window) => {
                let found = window.problems(&at, &[]);
                let bad = found.iter().any(Problem::is_error);
                problems.extend(found);
                if !bad {
                    out.push(window);
                }
            }
            Err(e) => problems.push(Problem::error(format!("maintenance[{i}]"), e.to_string())),
        }
    }
    out
}

/// `dependsOn`: the monitors whose failure holds this one's notifications.
/// A true-or-false field, false when not written.
fn flag(obj: &Map<String, Value>, field: &str, problems: &mut Vec<Problem>) -> bool {
    match obj.get(field) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push(Problem::error(field, format!("`{field}` is true or false")));
            false
        }
    }
}

fn depends_on(obj: &Map<String, Value>, name: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    match obj.get("dependsOn") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| match v.as_str() {
                Some(n) if n == name => {
                    problems.push(Problem::error(format!("dependsOn[{i}]"), "a monitor cannot depend on itself"));
                    None
                }
                Some(n) if !n.trim().is_empty() => Some(n.to_string()),
                _ => {
                    problems.push(Problem::error(format!("dependsOn[{i}]"), "expected a monitor's name"));
                    None
                }
            })
            .collect(),
        Some(_) => {
            problems.push(Problem::error("dependsOn", "`dependsOn` is a list of monitor names"));
            Vec::new()
        }
    }
}

fn has(obj: &Map<String, Value>, key: &str) -> bool {
    obj.get(key).is_some_and(|v| !v.is_null())
}

fn string_map(obj: &Map<String, Value>, key: &str, problems: &mut Vec<Problem>) -> BTreeMap<String, String> {
    match obj.get(key) {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
            .collect(),
        Some(_) => {
            problems.push(Problem::error(key, format!("`{key}` is a map of names to values")));
            BTreeMap::new()
        }
    }
}

/// A stable offset within the interval, so monitors spread over it.
fn offset_of(name: &str, ms: i64) -> i64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % ms as u64) as i64
}

fn cadence(obj: &Map<String, Value>, name: &str, problems: &mut Vec<Problem>) -> Option<Cadence> {
    match (obj.get("every"), obj.get("cron")) {
        (Some(_), Some(_)) => {
            problems.push(Problem::error("cron", "give `every` or `cron`, not both"));
            None
        }
        (Some(Value::String(every)), None) => match parse_duration(every) {
            Ok(ms) if ms >= 1_000 => Some(Cadence::Every { ms, offset: offset_of(name, ms) }),
            Ok(_) => {
                problems.push(Problem::error("every", "`every` is at least 1s"));
                None
            }
            Err(e) => {
                problems.push(Problem::error("every", format!("`every`: {e}")));
                None
            }
        },
        (Some(other), None) => {
            problems.push(Problem::error("every", format!("`every` is a duration such as `30s` or `5m`, got {other}")));
            None
        }
        (None, Some(Value::String(text))) => {
            let cron = crate::schedule::parse_cron_shared(text)
                .map_err(|e| problems.push(Problem::error("cron", format!("bad cron expression {e}"))))
                .ok();
            let zone_id = obj.get("zone").and_then(Value::as_str).unwrap_or("UTC");
            let zone = jiff::tz::TimeZone::get(zone_id)
                .map_err(|_| {
                    let names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
                    let hint = did_you_mean(zone_id, names.iter().map(String::as_str))
                        .or_else(|| Some("use an IANA name such as `Europe/Berlin`".into()));
                    problems.push(Problem::error("zone", format!("unknown time zone `{zone_id}`")).with_hint(hint))
                })
                .ok();
            Some(Cadence::Cron { text: text.as_str().into(), cron: cron?, zone: zone? })
        }
        (None, Some(other)) => {
            problems.push(Problem::error("cron", format!("`cron` is a cron expression, got {other}")));
            None
        }
        (None, None) => {
            problems.push(Problem::error("", "a monitor needs `every` (e.g. `every: 30s`) or `cron`"));
            None
        }
    }
}

/// The `source` block of a monitor document, whether or not the rest of it builds (`None` for a
/// heartbeat or a block that does not read).
pub fn source_of(doc: &Value) -> Option<SourceSpec> {
    let obj = doc.as_object()?;
    if obj.get("heartbeat").is_some_and(|v| !v.is_null()) {
        return None;
    }
    source(obj, &mut Vec::new())
}

fn source(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<SourceSpec> {
    let Some(Value::Object(block)) = obj.get("source") else {
        problems.push(
            Problem::error("source", "a monitor needs a `source`, e.g. `source: {http: {url: ...}}`")
                .with_hint(Some(format!("one of: {}", source_names()))),
        );
        return None;
    };
    let mut kinds = block.iter();
    let (Some((kind, config)), None) = (kinds.next(), kinds.next()) else {
        problems.push(Problem::error("source", "`source` holds exactly one source, e.g. `{influxdb: {...}}`"));
        return None;
    };
    let Some(source_kind) = SourceKind::from_block_name(kind) else {
        let hint =
            did_you_mean(kind, SourceKind::block_names()).or_else(|| Some(format!("one of: {}", source_names())));
        problems.push(Problem::error(format!("source.{kind}"), format!("unknown source `{kind}`")).with_hint(hint));
        return None;
    };
    if !config.is_object() {
        problems.push(Problem::error(format!("source.{kind}"), format!("the `{kind}` source's settings are a map")));
        return None;
    }
    Some(SourceSpec::new(source_kind, config.clone()))
}

/// The names a `source:` block may hold, for a hint.
fn source_names() -> String {
    SourceKind::block_names().collect::<Vec<_>>().join(", ")
}

/// The `heartbeat` block: `grace`, `maxRuntime`, `id`, `queue`, `condition`.
fn heartbeat(block: &Value, cadence: &Cadence, problems: &mut Vec<Problem>) -> super::HeartbeatDef {
    let Some(obj) = block.as_object() else {
        problems.push(Problem::error("heartbeat", "`heartbeat` is a map: `{grace: 1h, maxRuntime: 2h}`"));
        return super::HeartbeatDef::default_for(cadence.clone());
    };
    let fields: (&[&str], &[&str]) = (&["grace", "maxRuntime", "id", "queue", "condition"], &[]);
    check_keys(obj, "heartbeat", fields, "heartbeat", Unknown::Refused, problems);
    let duration = |key: &str, problems: &mut Vec<Problem>| -> Option<i64> {
        match obj.get(key)? {
            Value::String(text) => match parse_duration(text) {
                Ok(ms) if ms > 0 => Some(ms),
                Ok(_) => {
                    problems.push(Problem::error(format!("heartbeat.{key}"), format!("`{key}` is longer than zero")));
                    None
                }
                Err(e) => {
                    problems.push(Problem::error(format!("heartbeat.{key}"), format!("`{key}`: {e}")));
                    None
                }
            },
            other => {
                problems.push(Problem::error(
                    format!("heartbeat.{key}"),
                    format!("`{key}` is a duration such as `1h`, got {other}"),
                ));
                None
            }
        }
    };
    let grace = duration("grace", problems).unwrap_or(super::DEFAULT_GRACE_MS);
    let max_runtime = duration("maxRuntime", problems);
    let id = match obj.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if id.contains("${") => Some(id.clone()),
        Some(Value::String(id))
            if id.len() >= 16
                && id.len() <= 64
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
        {
            Some(id.clone())
        }
        Some(other) => {
            problems.push(
                Problem::error(
                    "heartbeat.id",
                    format!("a ping id is 16 to 64 letters, digits, `-` or `_`, got {other}"),
                )
                .with_hint(Some(
                    "leave it out and vigil derives an unguessable one, or use a UUID, or `${workflow.secrets.NAME}`"
                        .into(),
                )),
            );
            None
        }
    };
    let queue = queue_feed(obj, problems);
    super::HeartbeatDef {
        expect: super::expect::Heartbeat { expected: cadence.clone(), grace, max_runtime },
        id,
        queue,
    }
}

/// A heartbeat's `queue` and `condition`: a queue written as a sink, on a broker (vigil's own
/// queue has none to listen to), and a condition only beside a queue.
fn queue_feed(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> Option<super::QueueFeed> {
    let condition = match obj.get("condition") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if !c.trim().is_empty() => Some(c.clone()),
        Some(other) => {
            problems.push(Problem::error(
                "heartbeat.condition",
                format!("`condition` is a JavaScript expression over the message `$`, such as \"$.job == 'backup'\", got {other}"),
            ));
            None
        }
    };
    let queue = match obj.get("queue") {
        None | Some(Value::Null) => {
            if condition.is_some() {
                problems.push(Problem::error(
                    "heartbeat.condition",
                    "`condition` chooses which messages of the `queue` are pings: name the queue too",
                ));
            }
            return None;
        }
        Some(Value::String(q)) => q.trim().to_string(),
        Some(other) => {
            problems.push(Problem::error(
                "heartbeat.queue",
                format!("`queue` is a queue written as a sink, such as `mqtt:devices/42/alive`, got {other}"),
            ));
            return None;
        }
    };
    match crate::sink::split(&queue) {
        Err(e) => {
            problems.push(Problem::error("heartbeat.queue", e.to_string()));
            None
        }
        Ok(("conductor", _)) => {
            problems.push(Problem::error(
                "heartbeat.queue",
                "vigil's own queue (`conductor:...`) is for event handlers; a heartbeat listens to a broker's queue",
            ));
            None
        }
        Ok(_) => Some(super::QueueFeed { queue, condition }),
    }
}

fn threshold(obj: &Map<String, Value>, key: &str, problems: &mut Vec<Problem>) -> Option<Threshold> {
    let text = match obj.get(key)? {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return None,
        other => {
            problems.push(Problem::error(key, format!("`{key}` is a comparison such as \"> 80\", got {other}")));
            return None;
        }
    };
    Threshold::parse(&text).map_err(|e| problems.push(Problem::error(key, e))).ok()
}

/// Reads a tier name or one of `extra` (returned as `Err(word)`); `None` when absent or wrong.
fn tier_or(
    obj: &Map<String, Value>,
    key: &str,
    extra: &[&'static str],
    problems: &mut Vec<Problem>,
) -> Option<Result<Tier, &'static str>> {
    let text = match obj.get(key)? {
        Value::Null => return None,
        Value::String(s) => s.to_ascii_lowercase(),
        other => other.to_string(),
    };
    match text.as_str() {
        "ok" => Some(Ok(Tier::Ok)),
        "warning" => Some(Ok(Tier::Warning)),
        "critical" => Some(Ok(Tier::Critical)),
        other => match extra.iter().find(|e| **e == other) {
            Some(word) => Some(Err(*word)),
            None => {
                let choices: Vec<&str> =
                    ["ok", "warning", "critical"].into_iter().chain(extra.iter().copied()).collect();
                let hint = did_you_mean(other, choices.iter().copied());
                problems.push(
                    Problem::error(key, format!("`{key}` is one of {}, got `{other}`", choices.join(", ")))
                        .with_hint(hint),
                );
                None
            }
        },
    }
}

fn template(obj: &Map<String, Value>, key: &str, problems: &mut Vec<Problem>) -> Option<String> {
    let text = match obj.get(key)? {
        Value::String(s) if !s.trim().is_empty() => s.clone(),
        Value::Null => return None,
        _ => {
            problems.push(Problem::error(key, format!("`{key}` is a text")));
            return None;
        }
    };
    let mut rest = text.as_str();
    while let Some(start) = rest.find("${") {
        let Some(end) = rest[start..].find('}') else {
            problems.push(Problem::error(key, format!("`{key}` has an unclosed `${{`")));
            break;
        };
        let reference = &rest[start + 2..start + end];
        let root = reference.split('.').next().unwrap_or_default();
        if !TEMPLATE_ROOTS.contains(&root) || (root == "labels" && !reference.contains('.')) {
            let hint = did_you_mean(root, TEMPLATE_ROOTS.iter().copied())
                .or_else(|| Some("use ${value}, ${tier}, ${monitor}, ${error} or ${labels.NAME}".into()));
            problems.push(
                Problem::error(key, format!("`${{{reference}}}` is not something a monitor knows")).with_hint(hint),
            );
        }
        rest = &rest[start + end..];
    }
    Some(text)
}

/// `notify: [a, b]` (every tier) or `notify: {warning: [a], critical: [a, b]}`.
fn notify(obj: &Map<String, Value>, problems: &mut Vec<Problem>) -> super::Routes {
    let names = |v: &Value, at: &str, problems: &mut Vec<Problem>| -> Vec<String> {
        match v {
            Value::String(one) => vec![one.clone()],
            Value::Array(items) => items
                .iter()
                .filter_map(|i| {
                    i.as_str().map(str::to_string).or_else(|| {
                        problems.push(Problem::error(at, "notifier names are texts"));
                        None
                    })
                })
                .collect(),
            _ => {
                problems.push(Problem::error(at, "a list of notifier names"));
                Vec::new()
            }
        }
    };
    let mut out = super::Routes::default();
    match obj.get("notify") {
        None | Some(Value::Null) => {
            problems.push(Problem::warning(
                "notify",
                "no notifiers: alerts are recorded, and told only through alertmanager.yml's routes when one is loaded",
            ));
        }
        Some(Value::Object(tiers)) => {
            for (tier, list) in tiers {
                let at = format!("notify.{tier}");
                match tier.as_str() {
                    "warning" => {
                        out.set(Tier::Warning, names(list, &at, problems));
                    }
                    "critical" => {
                        out.set(Tier::Critical, names(list, &at, problems));
                    }
                    other => {
                        let hint = did_you_mean(other, ["warning", "critical"]);
                        problems.push(
                            Problem::error(at, format!("`notify` routes `warning` and `critical`, not `{other}`"))
                                .with_hint(hint),
                        );
                    }
                }
            }
        }
        Some(list) => {
            out = super::Routes::every_tier(names(list, "notify", problems));
        }
    }
    out
}
