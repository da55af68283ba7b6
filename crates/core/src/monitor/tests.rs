//! Monitor definitions and their evaluation, on canned answers.

use serde_json::{Value, json};

use super::evaluate::{Answer, Memory, Reading, Sample, Seen, evaluate};
use super::*;
use crate::alert::{AlertState, Notice, Observation};

fn monitor(doc: Value) -> MonitorDef {
    let (def, problems) = MonitorDef::build(&doc);
    def.unwrap_or_else(|| panic!("{problems:?}"))
}

fn problems(doc: Value) -> Vec<(String, String)> {
    MonitorDef::build(&doc)
        .1
        .into_iter()
        .filter(|p| p.severity == crate::diagnostic::Severity::Error)
        .map(|p| (p.path, p.message))
        .collect()
}

fn disk() -> MonitorDef {
    monitor(json!({
        "name": "disk-usage", "every": "1m", "labels": {"team": "infra"},
        "source": {"influxdb": {"url": "http://influx:8086", "database": "telegraf",
            "query": "SELECT last(used_percent) FROM disk WHERE time > now() - 5m GROUP BY host"}},
        "value": "last", "warning": "> 80", "critical": "> 95", "noData": "warning",
        "notify": {"warning": ["chat"], "critical": ["oncall", "chat"]},
        "summary": "disk ${labels.host} at ${value}%"
    }))
}

fn host(name: &str, value: Value) -> Sample {
    Sample {
        labels: [("host".to_string(), name.to_string())].into_iter().collect(),
        fields: [("time".to_string(), json!("2026-11-23T10:00:00Z")), ("last".to_string(), value)]
            .into_iter()
            .collect(),
        ..Sample::default()
    }
}

#[test]
fn the_issue_example_builds_with_routes_per_tier() {
    let def = disk();
    assert_eq!(def.source.kind, crate::source_kind::SourceKind::Influxdb);
    assert_eq!(def.notify.get(Tier::Critical), ["oncall", "chat"]);
    assert_eq!(def.notify.get(Tier::Warning), ["chat"]);
    assert!(matches!(def.cadence, Cadence::Every { ms: 60_000, .. }));
    assert_eq!(def.no_data, NoData::Tier(Tier::Warning));
}

#[test]
fn mistakes_are_located_with_suggestions() {
    let bad = json!({
        "name": "m", "every": "5 eons", "source": {"influx": {}}, "warning": "> lots",
        "noData": "warn", "fireAfter": 0, "summary": "at ${valu}", "notify": {"critcal": ["x"]}, "thresold": 1
    });
    let found = problems(bad);
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    for expected in
        ["every", "source.influx", "warning", "noData", "fireAfter", "summary", "notify.critcal", "thresold"]
    {
        assert!(paths.contains(&expected), "{expected} not in {found:?}");
    }
    let (_, hint_problems) =
        MonitorDef::build(&json!({"name": "m", "every": "1m", "source": {"influx": {}}, "critical": 1}));
    assert_eq!(hint_problems[0].hint.as_deref(), Some("did you mean `influxdb`?"));
    assert!(
        problems(json!({"name": "m", "every": "1m", "source": {"sql": {}}}))
            .iter()
            .any(|(_, m)| m.contains("needs a threshold"))
    );
    assert!(
        problems(json!({"name": "m", "source": {"sql": {}}, "critical": 1})).iter().any(|(_, m)| m.contains("`every`"))
    );
    assert!(
        problems(json!({"name": "m", "cron": "* * *", "zone": "Europe/Berln", "source": {"sql": {}}, "critical": 1}))
            .iter()
            .any(|(p, _)| p == "zone")
    );
}

#[test]
fn every_spreads_monitors_over_the_interval_and_cron_follows_its_zone() {
    let a = monitor(json!({"name": "a", "every": "10s", "source": {"http": {"url": "http://x"}}}));
    let b = monitor(json!({"name": "b", "every": "10s", "source": {"http": {"url": "http://x"}}}));
    let (na, nb) = (a.cadence.next_after(1_000_000).unwrap(), b.cadence.next_after(1_000_000).unwrap());
    assert!(na > 1_000_000 && na <= 1_010_000 && nb > 1_000_000 && nb <= 1_010_000);
    assert_ne!(na, nb, "two names, two offsets");
    assert_eq!(a.cadence.next_after(na).unwrap(), na + 10_000);
    let c = monitor(
        json!({"name": "c", "cron": "0 0 9 * * *", "zone": "Europe/Berlin", "source": {"sql": {}}, "critical": 1}),
    );
    // 2026-11-23 09:00 in Berlin is 08:00 UTC.
    let after = "2026-11-23T00:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    let expected = "2026-11-23T08:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    assert_eq!(c.cadence.next_after(after), Some(expected));
}

/// Runs the monitor over `answers`, applying each reading of `key` to one alert state as the
/// alert manager would; returns the tier of each run and the notices.
fn drive(def: &MonitorDef, answers: Vec<Answer>, key: &str) -> (Vec<Option<Tier>>, Vec<Notice>, Vec<Reading>) {
    let mut memory = Memory::default();
    let mut state = AlertState::default();
    let (mut tiers, mut notices, mut last) = (Vec::new(), Vec::new(), Vec::new());
    for (n, answer) in answers.iter().enumerate() {
        let readings = evaluate(def, &mut memory, answer);
        let now = (n as i64 + 1) * 60_000;
        let mine = readings.iter().find(|r| r.key == key);
        if let Some(tier) = mine.and_then(|r| r.tier) {
            notices.extend(state.observe(&def.rule, Observation::At(tier), now, false));
        }
        tiers.push(mine.map(|_| state.tier));
        last = readings;
    }
    (tiers, notices, last)
}

#[test]
fn values_move_one_alert_through_the_tiers() {
    // The issue's example: values 50, 85, 97, 60, 10 with a warning above 50 and a critical above
    // 95 are ok, warning, critical, warning, ok: one alert, four notices.
    let mut def = disk();
    def.warning = Some(Threshold::parse("> 50").unwrap());
    let answers = [50, 85, 97, 60, 10].map(|v| Answer::Samples(vec![host("a", json!(v))])).to_vec();
    let (tiers, notices, _) = drive(&def, answers, "monitor/disk-usage{host=a}");
    let ok_warn_crit_warn_ok = [Tier::Ok, Tier::Warning, Tier::Critical, Tier::Warning, Tier::Ok].map(Some);
    assert_eq!(tiers, ok_warn_crit_warn_ok);
    assert_eq!(notices, [Notice::Trigger, Notice::Change, Notice::Change, Notice::Resolve]);
}

#[test]
fn a_series_that_drops_out_resolves_after_resolve_after_answers_and_is_forgotten() {
    let mut def = disk();
    def.rule.resolve_after = 2;
    let both = |a: i64, b: i64| Answer::Samples(vec![host("a", json!(a)), host("b", json!(b))]);
    let only_a = Answer::Samples(vec![host("a", json!(10))]);
    let answers = vec![both(10, 97), both(10, 97), only_a.clone(), only_a.clone(), only_a.clone()];
    let (tiers, notices, last) = drive(&def, answers.clone(), "monitor/disk-usage{host=b}");
    assert_eq!(tiers, [Some(Tier::Critical), Some(Tier::Critical), Some(Tier::Critical), Some(Tier::Ok), None]);
    assert_eq!(notices, [Notice::Trigger, Notice::Resolve]);
    assert_eq!(last.len(), 1, "b is forgotten once resolved: {last:?}");

    def.missing_series = MissingSeries::Keep;
    let (tiers, notices, _) = drive(&def, answers, "monitor/disk-usage{host=b}");
    assert_eq!(notices, [Notice::Trigger]);
    assert!(tiers[2..].iter().all(|t| *t == Some(Tier::Critical)));
}

#[test]
fn no_data_and_source_errors_follow_their_settings() {
    let def = disk();
    let mut memory = Memory::default();
    let empty = evaluate(&def, &mut memory, &Answer::Samples(Vec::new()));
    assert_eq!((empty[0].key.as_str(), empty[0].tier), ("monitor/disk-usage", Some(Tier::Warning)));
    assert_eq!(empty[0].note.as_deref(), Some("no data"));
    let null = evaluate(&def, &mut Memory::default(), &Answer::Samples(vec![host("a", Value::Null)]));
    assert_eq!(null[0].tier, Some(Tier::Warning));

    let failed = evaluate(&def, &mut Memory::default(), &Answer::Failed("connection refused".into()));
    assert_eq!(failed[0].tier, None, "onError defaults to keep");
    assert_eq!(failed[0].note.as_deref(), Some("source error: connection refused"));
    let mut loud = disk();
    loud.on_error = OnError::Tier(Tier::Critical);
    let failed = evaluate(&loud, &mut Memory::default(), &Answer::Failed("timeout".into()));
    assert_eq!(failed[0].tier, Some(Tier::Critical));
}

#[test]
fn summaries_and_keys_render_per_series() {
    let mut def = disk();
    def.dedup_key = Some("disk/${labels.host}".into());
    let readings = evaluate(&def, &mut Memory::default(), &Answer::Samples(vec![host("db1", json!(97.5))]));
    assert_eq!(readings[0].key, "disk/db1");
    assert_eq!(readings[0].summary, "disk db1 at 97.5%");
    assert_eq!(readings[0].labels["team"], "infra");
}

#[test]
fn a_summary_rendered_again_from_what_is_kept_is_the_one_evaluate_rendered() {
    use super::evaluate::summary_of;
    let mut def = disk();
    def.summary = "disk ${labels.host} at ${value}% (${tier}) ${error}".into();
    def.missing_series = MissingSeries::Keep;
    def.on_error = OnError::Tier(Tier::Critical);
    let mut memory = Memory::default();
    let answers = [
        Answer::Samples(vec![host("a", json!(97.5)), host("b", json!(10))]),
        Answer::Samples(vec![host("a", json!(12))]),
        Answer::Failed("connection refused".into()),
        Answer::Samples(vec![host("a", json!(13))]),
    ];
    let mut missing = 0;
    for answer in &answers {
        for r in evaluate(&def, &mut memory, answer) {
            let again = summary_of(&def, &memory, &r.key, &r.labels, r.value, r.tier, r.note.as_deref());
            assert_eq!(again, r.summary, "{r:?}");
            missing += usize::from(r.summary.ends_with("(no longer in the answer)"));
        }
    }
    assert_eq!(missing, 3, "b is missing from the second and fourth answers, the error's series from the fourth");
}

#[test]
fn values_are_read_by_name_path_or_as_the_only_number() {
    use super::evaluate::pick;
    let fields: serde_json::Map<String, Value> =
        json!({"data": {"items": [{"n": "7"}]}, "ok": true, "name": "x"}).as_object().unwrap().clone();
    assert_eq!(pick(&fields, Some("data.items[0].n")), Some(7.0));
    assert_eq!(pick(&fields, Some("ok")), Some(1.0));
    assert_eq!(pick(&fields, Some("missing")), None);
    let one: serde_json::Map<String, Value> = json!({"host": "a", "value": 3}).as_object().unwrap().clone();
    assert_eq!(pick(&one, None), Some(3.0));
    // A probe's sample: its response time, unless the file names another field.
    let probe: serde_json::Map<String, Value> =
        json!({"status": 200, "response_time": 42, "connected": true, "body": "ok"}).as_object().unwrap().clone();
    assert_eq!(pick(&probe, None), Some(42.0));
    assert_eq!(pick(&probe, Some("status")), Some(200.0));
    let two: serde_json::Map<String, Value> = json!({"a": 1, "b": 2}).as_object().unwrap().clone();
    assert_eq!(pick(&two, None), None, "no telling which");
}

#[test]
fn tests_blocks_pass_when_tiers_and_notices_match_and_say_what_differs_when_not() {
    let doc = json!({
        "name": "disk-usage", "every": "1m",
        "source": {"influxdb": {"url": "http://influx:8086", "query": "SELECT last(used_percent) FROM disk GROUP BY host"}},
        "value": "last", "warning": "> 50", "critical": "> 95",
        "notify": {"warning": ["chat"], "critical": ["oncall", "chat"]},
        "tests": [
            {"name": "climbs and recovers", "values": [50, 85, 97, 60, 10],
             "expect": ["ok", "warning", "critical", "warning", "ok"], "notices": ["trigger", "change", "change", "resolve"]},
            {"name": "a host drops out", "answers": [
                [{"labels": {"host": "a"}, "value": 10}, {"labels": {"host": "b"}, "value": 97}],
                [{"labels": {"host": "a"}, "value": 10}],
                {"error": "connection refused"}],
             "expect": {"host=b": ["critical", "ok", "ok"], "host=a": ["ok", "ok", "ok"]}, "notices": 2},
            {"name": "wrong on purpose", "values": [99], "expect": ["warning"], "notices": 0}
        ]
    });
    let def = monitor(doc);
    assert_eq!(def.tests().len(), 3);
    let outcomes: Vec<testing::Outcome> = def.tests().iter().map(|t| testing::run(&def, t, 0)).collect();
    assert!(outcomes[0].failures.is_empty(), "{:?}", outcomes[0]);
    let routes: Vec<&[String]> = outcomes[0].sent.iter().map(|s| s.notifiers.as_slice()).collect();
    let (chat, both) = (vec!["chat".to_string()], vec!["oncall".to_string(), "chat".to_string()]);
    assert_eq!(routes, [&chat[..], &both[..], &chat[..], &chat[..]]);
    assert!(outcomes[1].failures.is_empty(), "{:?}", outcomes[1]);
    assert_eq!(
        outcomes[2].failures,
        ["monitor/disk-usage, run 1: expected warning, got critical", "expected 0 notice(s), got 1: trigger"]
    );
}

#[test]
fn broken_tests_blocks_are_located() {
    let found = problems(json!({
        "name": "m", "every": "1m", "source": {"sql": {}}, "critical": 1,
        "tests": [{"values": [1, 2], "expect": ["ok"]}, {"values": [1], "expect": ["fine"]}, {"answers": [true], "notices": 1}, {"values": [1]}]
    }));
    let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["tests[0].expect", "tests[1].expect[0]", "tests[2].answers[0]", "tests[3]"], "{found:?}");
}

#[test]
fn passes_in_a_row_are_counted_and_once_resolve_after_have_been_heard_more_change_nothing() {
    // The runtime stops telling the alert manager about a series once it passed more than
    // `resolveAfter` times in a row: the alert state must not change with more passes then.
    let mut def = disk();
    def.rule.resolve_after = 2;
    def.missing_series = MissingSeries::NoData;
    def.no_data = NoData::Tier(Tier::Warning);
    let key = "monitor/disk-usage{host=a}";
    let mut memory = Memory::default();
    let mut state = AlertState::default();
    let mut passing = Vec::new();
    let values = [97, 10, 10, 10, 10, 97, 10];
    for (n, v) in values.iter().enumerate() {
        let readings = evaluate(&def, &mut memory, &Answer::Samples(vec![host("a", json!(v))]));
        let now = (n as i64 + 1) * 60_000;
        let before = state.clone();
        let tier = readings[0].tier.unwrap();
        state.observe(&def.rule, Observation::At(tier), now, false);
        let seen = memory.series.get(key).unwrap().passing;
        if tier == Tier::Ok && seen > def.rule.resolve_after.max(1) + 1 {
            let mut same = before.clone();
            same.last_observed_at = state.last_observed_at;
            assert_eq!(same, state, "pass {n} changed a settled state");
        }
        passing.push(seen);
    }
    assert_eq!(passing, [0, 1, 2, 3, 4, 0, 1]);
    // A series missing from the answer at a failing tier (no data: warning) is no longer passing.
    let _ = evaluate(&def, &mut memory, &Answer::Samples(vec![host("b", json!(10))]));
    assert_eq!(memory.series.get(key).unwrap().passing, 0);
}

#[test]
fn a_series_first_seen_while_alerts_are_known_counts_as_never_failed_until_it_fails() {
    // The runtime read every stored alert: a series it meets for the first time has none, so its
    // passes need not be told. A failure makes it count from nought like any other.
    let def = disk();
    let key = "monitor/disk-usage{host=a}";
    let mut memory = Memory { alerts_known: true, ..Memory::default() };
    let mut passing = Vec::new();
    for v in [10, 10, 97, 10] {
        let _ = evaluate(&def, &mut memory, &Answer::Samples(vec![host("a", json!(v))]));
        passing.push(memory.series.get(key).unwrap().passing);
    }
    assert_eq!(passing, [Seen::NEVER_FAILED, Seen::NEVER_FAILED, 0, 1]);
    // Without the stored alerts read, a new series counts from nought.
    let mut unsure = Memory::default();
    let _ = evaluate(&def, &mut unsure, &Answer::Samples(vec![host("a", json!(10))]));
    assert_eq!(unsure.series.get(key).unwrap().passing, 1);
}

#[test]
fn an_alert_state_is_quiet_until_something_fails_and_again_once_it_resolved() {
    let def = disk();
    let mut state = AlertState::default();
    assert!(state.is_quiet());
    state.observe(&def.rule, Observation::At(Tier::Ok), 60_000, false);
    assert!(state.is_quiet(), "a pass changes nothing a pass would: {state:?}");
    state.observe(&def.rule, Observation::At(Tier::Warning), 120_000, false);
    assert!(!state.is_quiet(), "{state:?}");
    for n in 0..=def.rule.resolve_after {
        state.observe(&def.rule, Observation::At(Tier::Ok), 180_000 + i64::from(n) * 60_000, false);
    }
    assert!(state.is_quiet(), "resolved and told: {state:?}");
}

#[test]
fn a_warning_threshold_past_the_critical_one_is_warned_about() {
    let warnings = |warning: &str, critical: &str| -> Vec<String> {
        let doc = json!({"name": "disk", "every": "1m", "source": {"sql": {"url": "postgres://db/x", "query": "select 1"}},
            "warning": warning, "critical": critical, "notify": []});
        MonitorDef::build(&doc)
            .1
            .into_iter()
            .filter(|p| p.severity == crate::diagnostic::Severity::Warning)
            .map(|p| format!("{}: {}", p.path, p.message))
            .collect()
    };
    assert!(warnings("> 95", "> 80").iter().any(|w| w.starts_with("warning: ") && w.contains("wrong way round")));
    assert!(warnings("< 5", "< 10").iter().any(|w| w.contains("wrong way round")));
    assert!(warnings("> 80", "> 95").is_empty());
    assert!(warnings("< 10", "< 5").is_empty());
}

#[test]
fn dependencies_reach_through_parents_and_circles_are_found() {
    let m = |name: &str, parents: &[&str]| {
        monitor(json!({"name": name, "every": "1m", "dependsOn": parents, "source": {"http": {"url": "http://x/"}}}))
    };
    let mut defs = vec![m("app", &["lb"]), m("lb", &["gateway"]), m("gateway", &[]), m("x", &["y"]), m("y", &["x"])];
    let cycles = crate::monitor::fill_ancestors(&mut defs);
    assert_eq!(*defs[0].ancestors, ["lb", "gateway"], "transitive");
    assert!(defs[2].ancestors.is_empty());
    assert_eq!(cycles, [vec!["x".to_string(), "y".into(), "x".into()]], "one circle, reported once");
    let errors =
        problems(json!({"name": "s", "every": "1m", "dependsOn": ["s"], "source": {"http": {"url": "http://x/"}}}));
    assert_eq!(errors, [("dependsOn[0]".to_string(), "a monitor cannot depend on itself".to_string())]);
}

#[test]
fn monitors_naming_the_same_notifiers_share_one_list() {
    let m = |name: &str, notify: Value| {
        monitor(json!({"name": name, "every": "1m", "notify": notify, "source": {"http": {"url": "http://x/"}}}))
    };
    let mut defs = vec![
        m("a", json!(["ops"])),
        m("b", json!(["ops"])),
        m("c", json!(["dev"])),
        m("d", json!({"warning": ["dev"], "critical": ["ops", "pager"]})),
    ];
    let shared = |x: &MonitorDef, y: &MonitorDef, tier: Tier| {
        std::ptr::eq(x.notify.get(tier).as_ptr(), y.notify.get(tier).as_ptr())
    };
    assert!(!shared(&defs[0], &defs[1], Tier::Critical), "each built its own");
    share_routes(&mut defs);
    assert!(shared(&defs[0], &defs[1], Tier::Critical));
    assert!(shared(&defs[0], &defs[1], Tier::Warning));
    assert!(shared(&defs[2], &defs[3], Tier::Warning), "one tier's list shared with another's");
    assert!(!shared(&defs[0], &defs[2], Tier::Critical));
    assert_eq!(defs[3].notify.get(Tier::Critical), ["ops", "pager"], "a different list stays its own");
    assert_eq!(defs[1].notify.get(Tier::Warning), ["ops"]);
}

/// A definition is held in an `Arc` (16 bytes of counts) per monitor: 250,000 monitors keep
/// 250,000 of them. mimalloc rounds an allocation up to its size class (…, 256, 320, 384, 448);
/// this keeps a definition in the 320-byte class (`docs/benchmarks.md`, issue 36).
#[cfg(target_pointer_width = "64")]
#[test]
fn a_definition_and_its_arc_fit_in_320_bytes() {
    assert!(std::mem::size_of::<MonitorDef>() + 16 <= 320, "{} bytes", std::mem::size_of::<MonitorDef>());
    assert_eq!(std::mem::size_of::<Routes>(), 8);
    // A series the evaluation remembers: its key and what it saw, in the 64-byte class.
    assert!(std::mem::size_of::<(Box<str>, Seen)>() <= 64);
}

#[test]
fn a_monitors_own_maintenance_windows_are_read_and_their_problems_located() {
    let def = monitor(json!({"name": "db", "every": "1m", "source": {"http": {"url": "http://x/"}},
    "maintenance": [
        {"title": "Nightly backup", "repeat": {"every": "day", "at": "02:00", "timezone": "Europe/Berlin", "for": "1h"}},
        {"title": "Move", "starts": "2026-12-01T02:00:00Z", "ends": "2026-12-01T03:00:00Z"}
    ]}));
    assert_eq!(def.maintenance().len(), 2);
    // 2026-12-01 02:30 in Berlin is 01:30 UTC: the nightly one is under way, the move not yet.
    let at = 1_796_088_600_000;
    assert!(def.maintenance()[0].active(at) && def.maintenance()[1].upcoming(at));
    let silences = def.maintenance()[0].silences(&["db"], at);
    assert_eq!(silences.len(), 2, "the occurrence under way and the next, within a day: {silences:?}");
    assert!(silences[0].mutes("db", &Default::default(), at));

    let errors = problems(json!({"name": "db", "every": "1m", "source": {"http": {"url": "http://x/"}},
    "maintenance": [
        {"title": "x", "components": ["Website"], "starts": 1, "ends": 2},
        {"title": "y", "repeat": {"every": "week", "days": ["someday"], "for": "1h"}},
        {"title": "z"},
        {"title": "w", "starts": 1, "ends": 2, "colour": "red"}
    ]}));
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        ["maintenance[0].components", "maintenance[1].repeat.days", "maintenance[2].starts", "maintenance[3]"],
        "{errors:?}"
    );
}
