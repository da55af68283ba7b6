use std::collections::BTreeMap;

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn config(yaml: &str) -> AmConfig {
    parse(yaml).unwrap_or_else(|p| panic!("{p:#?}"))
}

fn problems(yaml: &str) -> Vec<(String, String)> {
    parse(yaml).expect_err("refused").into_iter().map(|p| (p.path, p.message)).collect()
}

/// Alertmanager's own examples and test configurations load as they are.
#[test]
fn alertmanagers_example_configurations_load_unchanged() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alertmanager/configs");
    let mut read = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            if let Err(p) = parse(&text) {
                panic!("{}: {p:#?}", path.display());
            }
            read += 1;
        }
    }
    // And the test configurations of Alertmanager 0.25.0 that its amtool accepts.
    let testdata = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/alertmanager/testdata");
    let verdicts = std::fs::read_to_string(format!("{testdata}/verdicts.txt")).unwrap();
    for file in verdicts.lines().filter_map(|l| l.strip_prefix("ok ")).map(|l| l.split_whitespace().next().unwrap()) {
        let text = std::fs::read_to_string(format!("{testdata}/{file}")).unwrap();
        if let Err(p) = parse(&text) {
            panic!("{file}: {p:#?}");
        }
        read += 1;
    }
    assert!(read >= 16, "{read} files");
    let simple = config(&std::fs::read_to_string(format!("{dir}/simple.yml")).unwrap());
    assert_eq!(simple.receivers.len(), 5);
    assert_eq!(
        simple.route.timing,
        Timing { group_wait: 30_000, group_interval: 300_000, repeat_interval: 3 * 3_600_000 }
    );
    let db = labels(&[("service", "database"), ("owner", "team-X"), ("alertname", "Down")]);
    let receivers: Vec<&str> = simple.route.matching(&db).iter().map(|r| r.receiver.as_str()).collect();
    assert_eq!(receivers, ["team-X-pager"], "the deepest match; its parent is not told");
    let other = labels(&[("service", "database"), ("owner", "team-Z")]);
    let receivers: Vec<&str> = simple.route.matching(&other).iter().map(|r| r.receiver.as_str()).collect();
    assert_eq!(receivers, ["team-DB-pager"], "no child matches: the node itself");
    let pagerduty = &simple.receiver("team-X-pager").unwrap().integrations;
    assert_eq!(
        pagerduty.iter().map(|i| (i.kind.as_str(), i.send_resolved)).collect::<Vec<_>>(),
        [("email", false), ("pagerduty", true)]
    );
}

/// `dispatch/route_test.go` `TestRouteMatch`, restated: the nodes each label set stops at, with
/// what they inherited.
#[test]
fn routes_match_as_alertmanagers_route_test_says() {
    let c = config(
        r#"
route:
  receiver: 'notify-def'
  routes:
  - match: {owner: 'team-A'}
    receiver: 'notify-A'
    routes:
    - match: {env: 'testing'}
      receiver: 'notify-testing'
      group_by: [...]
    - match: {env: "production"}
      receiver: 'notify-productionA'
      group_wait: 1m
      continue: true
    - match_re: {env: "produ.*", job: ".*"}
      receiver: 'notify-productionB'
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 1h
      group_by: ['job']
  - match_re: {owner: 'team-(B|C)'}
    group_by: ['foo', 'bar']
    group_wait: 2m
    receiver: 'notify-BC'
  - match: {group_by: 'role'}
    group_by: ['role']
    routes:
    - match: {env: 'testing'}
      receiver: 'notify-testing'
      routes:
      - match: {wait: 'long'}
        group_wait: 2m
receivers: [{name: notify-def}, {name: notify-A}, {name: notify-testing}, {name: notify-productionA},
  {name: notify-productionB}, {name: notify-BC}]
"#,
    );
    let def = Timing::default();
    let by = |names: &[&str]| GroupBy::Labels(names.iter().map(|s| s.to_string()).collect());
    type Stop<'a> = (&'a str, GroupBy, Timing, &'a str);
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<Stop<'a>>);
    let cases: Vec<Case> = vec![
        (vec![("owner", "team-A")], vec![("notify-A", GroupBy::Nothing, def, r#"{}/{owner="team-A"}"#)]),
        (
            vec![("owner", "team-A"), ("env", "unset")],
            vec![("notify-A", GroupBy::Nothing, def, r#"{}/{owner="team-A"}"#)],
        ),
        (
            vec![("owner", "team-C")],
            vec![(
                "notify-BC",
                by(&["foo", "bar"]),
                Timing { group_wait: 120_000, ..def },
                r#"{}/{owner=~"^(?:team-(B|C))$"}"#,
            )],
        ),
        (
            vec![("owner", "team-A"), ("env", "testing")],
            vec![("notify-testing", GroupBy::All, def, r#"{}/{owner="team-A"}/{env="testing"}"#)],
        ),
        (
            vec![("owner", "team-A"), ("env", "production")],
            vec![
                (
                    "notify-productionA",
                    GroupBy::Nothing,
                    Timing { group_wait: 60_000, ..def },
                    r#"{}/{owner="team-A"}/{env="production"}"#,
                ),
                (
                    "notify-productionB",
                    by(&["job"]),
                    Timing { group_wait: 30_000, group_interval: 300_000, repeat_interval: 3_600_000 },
                    r#"{}/{owner="team-A"}/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}"#,
                ),
            ],
        ),
        (vec![("group_by", "role")], vec![("notify-def", by(&["role"]), def, r#"{}/{group_by="role"}"#)]),
        (
            vec![("env", "testing"), ("group_by", "role")],
            vec![("notify-testing", by(&["role"]), def, r#"{}/{group_by="role"}/{env="testing"}"#)],
        ),
        (
            vec![("env", "testing"), ("group_by", "role"), ("wait", "long")],
            vec![(
                "notify-testing",
                by(&["role"]),
                Timing { group_wait: 120_000, ..def },
                r#"{}/{group_by="role"}/{env="testing"}/{wait="long"}"#,
            )],
        ),
    ];
    for (input, want) in cases {
        let got: Vec<Stop> = c
            .route
            .matching(&labels(&input))
            .into_iter()
            .map(|r| (r.receiver.as_str(), r.group_by.clone(), r.timing, r.key.as_str()))
            .collect();
        assert_eq!(got, want, "{input:?}");
    }
    let group = &c.route.matching(&labels(&[("owner", "team-C"), ("foo", "1"), ("x", "y")]))[0];
    assert_eq!(
        group.group_key(&labels(&[("owner", "team-C"), ("foo", "1"), ("x", "y")])),
        r#"{}/{owner=~"^(?:team-(B|C))$"}/1:{foo="1"}"#
    );
}

#[test]
fn mistakes_are_refused_at_their_field() {
    let got = problems(
        r#"
global: {resolve_timout: 5m}
route:
  receiver: nobody
  matchers: ['a="b"']
  group_by: [alertname, alertname]
  group_interval: 0s
  routes:
  - matchers: ['severity=~"(crit"']
    receiver: team
    mute_time_intervals: [weekends]
  - group_by: [..., job]
    continu: true
receivers:
- name: team
- name: team
  slack_configs: [{channel: '#a', send_resolved: 'yes'}]
inhibit_rules:
- source_matchers: ['severity="critical"']
  target_matchers: ['severity=~warning']
  equal: [instance]
"#,
    );
    let at = |path: &str| got.iter().find(|(p, _)| p == path).map(|(_, m)| m.as_str()).unwrap_or("<none>");
    assert_eq!(at("global.resolve_timout"), "unknown field `resolve_timout`");
    assert_eq!(at("route.receiver"), "undefined receiver \"nobody\" used in route");
    assert_eq!(at("route"), "root route must not have any matchers");
    assert_eq!(at("route.group_by[1]"), "duplicated label \"alertname\" in group_by");
    assert_eq!(at("route.group_interval"), "group_interval cannot be zero");
    assert!(at("route.routes[0].matchers[0]").contains("error parsing regexp"), "{got:?}");
    assert_eq!(at("route.routes[0].mute_time_intervals[0]"), "undefined time interval \"weekends\" used in route");
    assert_eq!(
        at("route.routes[1].group_by"),
        "cannot have wildcard group_by (`...`) and other labels at the same time"
    );
    assert_eq!(at("route.routes[1].continu"), "unknown field `continu`");
    assert_eq!(at("receivers[1].name"), "notification config name \"team\" is not unique");
    assert_eq!(at("receivers[1].slack_configs[0].send_resolved"), "expected true or false");
    assert_eq!(at("inhibit_rules[0].target_matchers[0]"), "<none>", "unquoted values are Alertmanager syntax too");
    assert_eq!(problems("route: {receiver: a}\nreceivers: [{name: a}]\nroutes: []\n")[0].1, "unknown field `routes`");
    assert_eq!(problems("receivers: []")[0], ("route".to_string(), "no routes provided".to_string()));
}

#[test]
fn inhibition_needs_equal_labels_and_never_mutes_its_own_kind() {
    let c = config(
        r#"
route: {receiver: a}
receivers: [{name: a}]
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [alertname, cluster]
- source_matchers: [alertname="Both"]
  target_matchers: [alertname="Both"]
"#,
    );
    let crit = labels(&[("alertname", "Down"), ("severity", "critical"), ("cluster", "a")]);
    let warn = labels(&[("alertname", "Down"), ("severity", "warning"), ("cluster", "a")]);
    let other = labels(&[("alertname", "Down"), ("severity", "warning"), ("cluster", "b")]);
    let firing = [("crit", &crit)];
    let by = |target: &BTreeMap<String, String>| {
        inhibit::inhibited_by(&c.inhibit_rules, firing.iter().map(|(k, l)| (k, *l)), target)
    };
    assert_eq!(by(&warn), Some(&"crit"));
    assert_eq!(by(&other), None, "another cluster");
    let both = labels(&[("alertname", "Both")]);
    let both2 = labels(&[("alertname", "Both"), ("x", "1")]);
    assert!(!c.inhibit_rules[1].mutes(&both2, &both), "an alert matching both sides mutes none of its kind");
    // The index finds what the scan finds, for every target among every firing set of these.
    let all = [("crit", &crit), ("warn", &warn), ("other", &other), ("both", &both), ("both2", &both2)];
    for mask in 0..(1 << all.len()) {
        let firing: Vec<(&&str, &BTreeMap<String, String>)> =
            all.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, (k, l))| (k, *l)).collect();
        let index = inhibit::InhibitIndex::new(&c.inhibit_rules, firing.iter().copied());
        for (_, target) in &all {
            let scanned = inhibit::inhibited_by(&c.inhibit_rules, firing.iter().copied(), target);
            assert_eq!(index.inhibited_by(target), scanned, "{target:?} among {mask:b}");
        }
    }
}

#[test]
fn routes_mute_by_their_time_intervals() {
    let c = config(
        r#"
route:
  receiver: a
  routes:
  - matchers: [team="db"]
    mute_time_intervals: [nights]
  - matchers: [team="web"]
    active_time_intervals: [nights]
receivers: [{name: a}]
time_intervals:
- name: nights
  time_intervals: [{times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "06:00"}]}]
"#,
    );
    let night = 1_767_225_600_000 + 23 * 3_600_000; // 2026-01-01T23:00Z
    let day = night - 10 * 3_600_000;
    let db = &c.route.routes[0];
    let web = &c.route.routes[1];
    assert!(c.muted_by_time(db, night) && !c.muted_by_time(db, day));
    assert!(!c.muted_by_time(web, night) && c.muted_by_time(web, day));
    assert_eq!(c.next_time_change(db, day), Some(night - 3_600_000), "22:00");
    assert_eq!(c.next_time_change(db, night), Some(night + 7 * 3_600_000), "06:00, across midnight");
}
